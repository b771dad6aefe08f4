import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from redoubt.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class CreateKeyRequest(_message.Message):
    __slots__ = ("spec", "request_id")
    SPEC_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    spec: _common_pb2.KeySpec
    request_id: str
    def __init__(self, spec: _Optional[_Union[_common_pb2.KeySpec, _Mapping]] = ..., request_id: _Optional[str] = ...) -> None: ...

class CreateKeyResponse(_message.Message):
    __slots__ = ("key",)
    KEY_FIELD_NUMBER: _ClassVar[int]
    key: _common_pb2.KeyInfo
    def __init__(self, key: _Optional[_Union[_common_pb2.KeyInfo, _Mapping]] = ...) -> None: ...

class WrappedKey(_message.Message):
    __slots__ = ("wrapping_key_id", "scheme", "blob")
    WRAPPING_KEY_ID_FIELD_NUMBER: _ClassVar[int]
    SCHEME_FIELD_NUMBER: _ClassVar[int]
    BLOB_FIELD_NUMBER: _ClassVar[int]
    wrapping_key_id: str
    scheme: _common_pb2.WrapScheme
    blob: bytes
    def __init__(self, wrapping_key_id: _Optional[str] = ..., scheme: _Optional[_Union[_common_pb2.WrapScheme, str]] = ..., blob: _Optional[bytes] = ...) -> None: ...

class ImportKeyRequest(_message.Message):
    __slots__ = ("spec", "pkcs8_der", "spki_der", "secret", "wrapped", "request_id")
    SPEC_FIELD_NUMBER: _ClassVar[int]
    PKCS8_DER_FIELD_NUMBER: _ClassVar[int]
    SPKI_DER_FIELD_NUMBER: _ClassVar[int]
    SECRET_FIELD_NUMBER: _ClassVar[int]
    WRAPPED_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    spec: _common_pb2.KeySpec
    pkcs8_der: bytes
    spki_der: bytes
    secret: bytes
    wrapped: WrappedKey
    request_id: str
    def __init__(self, spec: _Optional[_Union[_common_pb2.KeySpec, _Mapping]] = ..., pkcs8_der: _Optional[bytes] = ..., spki_der: _Optional[bytes] = ..., secret: _Optional[bytes] = ..., wrapped: _Optional[_Union[WrappedKey, _Mapping]] = ..., request_id: _Optional[str] = ...) -> None: ...

class ImportKeyResponse(_message.Message):
    __slots__ = ("key",)
    KEY_FIELD_NUMBER: _ClassVar[int]
    key: _common_pb2.KeyInfo
    def __init__(self, key: _Optional[_Union[_common_pb2.KeyInfo, _Mapping]] = ...) -> None: ...

class GetKeyRequest(_message.Message):
    __slots__ = ("key_id",)
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    key_id: str
    def __init__(self, key_id: _Optional[str] = ...) -> None: ...

class GetKeyResponse(_message.Message):
    __slots__ = ("key",)
    KEY_FIELD_NUMBER: _ClassVar[int]
    key: _common_pb2.KeyInfo
    def __init__(self, key: _Optional[_Union[_common_pb2.KeyInfo, _Mapping]] = ...) -> None: ...

class ListKeysRequest(_message.Message):
    __slots__ = ("page_size", "page_token", "label", "include_destroyed", "application_id")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_DESTROYED_FIELD_NUMBER: _ClassVar[int]
    APPLICATION_ID_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    label: str
    include_destroyed: bool
    application_id: bytes
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., label: _Optional[str] = ..., include_destroyed: _Optional[bool] = ..., application_id: _Optional[bytes] = ...) -> None: ...

class ListKeysResponse(_message.Message):
    __slots__ = ("keys", "next_page_token")
    KEYS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    keys: _containers.RepeatedCompositeFieldContainer[_common_pb2.KeyInfo]
    next_page_token: str
    def __init__(self, keys: _Optional[_Iterable[_Union[_common_pb2.KeyInfo, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class UpdateKeyRequest(_message.Message):
    __slots__ = ("key_id", "label", "usages", "extractable", "sensitive", "modifiable", "destroyable", "not_before_time", "expire_time", "minimum_version", "application_id", "subject")
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    USAGES_FIELD_NUMBER: _ClassVar[int]
    EXTRACTABLE_FIELD_NUMBER: _ClassVar[int]
    SENSITIVE_FIELD_NUMBER: _ClassVar[int]
    MODIFIABLE_FIELD_NUMBER: _ClassVar[int]
    DESTROYABLE_FIELD_NUMBER: _ClassVar[int]
    NOT_BEFORE_TIME_FIELD_NUMBER: _ClassVar[int]
    EXPIRE_TIME_FIELD_NUMBER: _ClassVar[int]
    MINIMUM_VERSION_FIELD_NUMBER: _ClassVar[int]
    APPLICATION_ID_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    key_id: str
    label: str
    usages: _common_pb2.KeyUsageSet
    extractable: bool
    sensitive: bool
    modifiable: bool
    destroyable: bool
    not_before_time: _timestamp_pb2.Timestamp
    expire_time: _timestamp_pb2.Timestamp
    minimum_version: int
    application_id: bytes
    subject: bytes
    def __init__(self, key_id: _Optional[str] = ..., label: _Optional[str] = ..., usages: _Optional[_Union[_common_pb2.KeyUsageSet, _Mapping]] = ..., extractable: _Optional[bool] = ..., sensitive: _Optional[bool] = ..., modifiable: _Optional[bool] = ..., destroyable: _Optional[bool] = ..., not_before_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., expire_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., minimum_version: _Optional[int] = ..., application_id: _Optional[bytes] = ..., subject: _Optional[bytes] = ...) -> None: ...

class UpdateKeyResponse(_message.Message):
    __slots__ = ("key", "pending_request")
    KEY_FIELD_NUMBER: _ClassVar[int]
    PENDING_REQUEST_FIELD_NUMBER: _ClassVar[int]
    key: _common_pb2.KeyInfo
    pending_request: _common_pb2.ApprovalRequest
    def __init__(self, key: _Optional[_Union[_common_pb2.KeyInfo, _Mapping]] = ..., pending_request: _Optional[_Union[_common_pb2.ApprovalRequest, _Mapping]] = ...) -> None: ...

class RotateKeyRequest(_message.Message):
    __slots__ = ("key_id",)
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    key_id: str
    def __init__(self, key_id: _Optional[str] = ...) -> None: ...

class RotateKeyResponse(_message.Message):
    __slots__ = ("key",)
    KEY_FIELD_NUMBER: _ClassVar[int]
    key: _common_pb2.KeyInfo
    def __init__(self, key: _Optional[_Union[_common_pb2.KeyInfo, _Mapping]] = ...) -> None: ...

class BlockKeyRequest(_message.Message):
    __slots__ = ("key_id",)
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    key_id: str
    def __init__(self, key_id: _Optional[str] = ...) -> None: ...

class BlockKeyResponse(_message.Message):
    __slots__ = ("key", "pending_request")
    KEY_FIELD_NUMBER: _ClassVar[int]
    PENDING_REQUEST_FIELD_NUMBER: _ClassVar[int]
    key: _common_pb2.KeyInfo
    pending_request: _common_pb2.ApprovalRequest
    def __init__(self, key: _Optional[_Union[_common_pb2.KeyInfo, _Mapping]] = ..., pending_request: _Optional[_Union[_common_pb2.ApprovalRequest, _Mapping]] = ...) -> None: ...

class UnblockKeyRequest(_message.Message):
    __slots__ = ("key_id",)
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    key_id: str
    def __init__(self, key_id: _Optional[str] = ...) -> None: ...

class UnblockKeyResponse(_message.Message):
    __slots__ = ("key", "pending_request")
    KEY_FIELD_NUMBER: _ClassVar[int]
    PENDING_REQUEST_FIELD_NUMBER: _ClassVar[int]
    key: _common_pb2.KeyInfo
    pending_request: _common_pb2.ApprovalRequest
    def __init__(self, key: _Optional[_Union[_common_pb2.KeyInfo, _Mapping]] = ..., pending_request: _Optional[_Union[_common_pb2.ApprovalRequest, _Mapping]] = ...) -> None: ...

class DestroyKeyRequest(_message.Message):
    __slots__ = ("key_id",)
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    key_id: str
    def __init__(self, key_id: _Optional[str] = ...) -> None: ...

class DestroyKeyResponse(_message.Message):
    __slots__ = ("key",)
    KEY_FIELD_NUMBER: _ClassVar[int]
    key: _common_pb2.KeyInfo
    def __init__(self, key: _Optional[_Union[_common_pb2.KeyInfo, _Mapping]] = ...) -> None: ...

class RestoreKeyRequest(_message.Message):
    __slots__ = ("key_id",)
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    key_id: str
    def __init__(self, key_id: _Optional[str] = ...) -> None: ...

class RestoreKeyResponse(_message.Message):
    __slots__ = ("key",)
    KEY_FIELD_NUMBER: _ClassVar[int]
    key: _common_pb2.KeyInfo
    def __init__(self, key: _Optional[_Union[_common_pb2.KeyInfo, _Mapping]] = ...) -> None: ...

class PurgeKeyRequest(_message.Message):
    __slots__ = ("key_id",)
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    key_id: str
    def __init__(self, key_id: _Optional[str] = ...) -> None: ...

class PurgeKeyResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ExportPublicKeyRequest(_message.Message):
    __slots__ = ("key_id", "key_version")
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    KEY_VERSION_FIELD_NUMBER: _ClassVar[int]
    key_id: str
    key_version: int
    def __init__(self, key_id: _Optional[str] = ..., key_version: _Optional[int] = ...) -> None: ...

class ExportPublicKeyResponse(_message.Message):
    __slots__ = ("public_key",)
    PUBLIC_KEY_FIELD_NUMBER: _ClassVar[int]
    public_key: _common_pb2.PublicKey
    def __init__(self, public_key: _Optional[_Union[_common_pb2.PublicKey, _Mapping]] = ...) -> None: ...

class ExportWrappedRequest(_message.Message):
    __slots__ = ("key_id", "wrapping_key_id", "scheme")
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    WRAPPING_KEY_ID_FIELD_NUMBER: _ClassVar[int]
    SCHEME_FIELD_NUMBER: _ClassVar[int]
    key_id: str
    wrapping_key_id: str
    scheme: _common_pb2.WrapScheme
    def __init__(self, key_id: _Optional[str] = ..., wrapping_key_id: _Optional[str] = ..., scheme: _Optional[_Union[_common_pb2.WrapScheme, str]] = ...) -> None: ...

class ExportWrappedResponse(_message.Message):
    __slots__ = ("wrapped_key",)
    WRAPPED_KEY_FIELD_NUMBER: _ClassVar[int]
    wrapped_key: bytes
    def __init__(self, wrapped_key: _Optional[bytes] = ...) -> None: ...

class ExportPlaintextRequest(_message.Message):
    __slots__ = ("key_id",)
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    key_id: str
    def __init__(self, key_id: _Optional[str] = ...) -> None: ...

class ExportPlaintextResponse(_message.Message):
    __slots__ = ("key_material",)
    KEY_MATERIAL_FIELD_NUMBER: _ClassVar[int]
    key_material: bytes
    def __init__(self, key_material: _Optional[bytes] = ...) -> None: ...

class CertificateInfo(_message.Message):
    __slots__ = ("id", "label", "application_id", "certificate_der", "subject", "issuer", "serial_number", "create_time")
    ID_FIELD_NUMBER: _ClassVar[int]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    APPLICATION_ID_FIELD_NUMBER: _ClassVar[int]
    CERTIFICATE_DER_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    ISSUER_FIELD_NUMBER: _ClassVar[int]
    SERIAL_NUMBER_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    id: str
    label: str
    application_id: bytes
    certificate_der: bytes
    subject: bytes
    issuer: bytes
    serial_number: bytes
    create_time: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., label: _Optional[str] = ..., application_id: _Optional[bytes] = ..., certificate_der: _Optional[bytes] = ..., subject: _Optional[bytes] = ..., issuer: _Optional[bytes] = ..., serial_number: _Optional[bytes] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class CreateCertificateRequest(_message.Message):
    __slots__ = ("label", "certificate_der", "application_id")
    LABEL_FIELD_NUMBER: _ClassVar[int]
    CERTIFICATE_DER_FIELD_NUMBER: _ClassVar[int]
    APPLICATION_ID_FIELD_NUMBER: _ClassVar[int]
    label: str
    certificate_der: bytes
    application_id: bytes
    def __init__(self, label: _Optional[str] = ..., certificate_der: _Optional[bytes] = ..., application_id: _Optional[bytes] = ...) -> None: ...

class CreateCertificateResponse(_message.Message):
    __slots__ = ("certificate",)
    CERTIFICATE_FIELD_NUMBER: _ClassVar[int]
    certificate: CertificateInfo
    def __init__(self, certificate: _Optional[_Union[CertificateInfo, _Mapping]] = ...) -> None: ...

class GetCertificateRequest(_message.Message):
    __slots__ = ("certificate_id",)
    CERTIFICATE_ID_FIELD_NUMBER: _ClassVar[int]
    certificate_id: str
    def __init__(self, certificate_id: _Optional[str] = ...) -> None: ...

class GetCertificateResponse(_message.Message):
    __slots__ = ("certificate",)
    CERTIFICATE_FIELD_NUMBER: _ClassVar[int]
    certificate: CertificateInfo
    def __init__(self, certificate: _Optional[_Union[CertificateInfo, _Mapping]] = ...) -> None: ...

class ListCertificatesRequest(_message.Message):
    __slots__ = ("page_size", "page_token", "label", "application_id")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    APPLICATION_ID_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    label: str
    application_id: bytes
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., label: _Optional[str] = ..., application_id: _Optional[bytes] = ...) -> None: ...

class ListCertificatesResponse(_message.Message):
    __slots__ = ("certificates", "next_page_token")
    CERTIFICATES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    certificates: _containers.RepeatedCompositeFieldContainer[CertificateInfo]
    next_page_token: str
    def __init__(self, certificates: _Optional[_Iterable[_Union[CertificateInfo, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class DeleteCertificateRequest(_message.Message):
    __slots__ = ("certificate_id",)
    CERTIFICATE_ID_FIELD_NUMBER: _ClassVar[int]
    certificate_id: str
    def __init__(self, certificate_id: _Optional[str] = ...) -> None: ...

class DeleteCertificateResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...
