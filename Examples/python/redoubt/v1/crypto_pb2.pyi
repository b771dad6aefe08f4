from redoubt.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class SignRequest(_message.Message):
    __slots__ = ("key_id", "input", "scheme")
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    INPUT_FIELD_NUMBER: _ClassVar[int]
    SCHEME_FIELD_NUMBER: _ClassVar[int]
    key_id: str
    input: _common_pb2.SigningInput
    scheme: _common_pb2.SignatureScheme
    def __init__(self, key_id: _Optional[str] = ..., input: _Optional[_Union[_common_pb2.SigningInput, _Mapping]] = ..., scheme: _Optional[_Union[_common_pb2.SignatureScheme, _Mapping]] = ...) -> None: ...

class SignResponse(_message.Message):
    __slots__ = ("signature", "key_version", "pending_request")
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    KEY_VERSION_FIELD_NUMBER: _ClassVar[int]
    PENDING_REQUEST_FIELD_NUMBER: _ClassVar[int]
    signature: bytes
    key_version: int
    pending_request: _common_pb2.ApprovalRequest
    def __init__(self, signature: _Optional[bytes] = ..., key_version: _Optional[int] = ..., pending_request: _Optional[_Union[_common_pb2.ApprovalRequest, _Mapping]] = ...) -> None: ...

class VerifyRequest(_message.Message):
    __slots__ = ("key_id", "input", "signature", "scheme", "key_version")
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    INPUT_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    SCHEME_FIELD_NUMBER: _ClassVar[int]
    KEY_VERSION_FIELD_NUMBER: _ClassVar[int]
    key_id: str
    input: _common_pb2.SigningInput
    signature: bytes
    scheme: _common_pb2.SignatureScheme
    key_version: int
    def __init__(self, key_id: _Optional[str] = ..., input: _Optional[_Union[_common_pb2.SigningInput, _Mapping]] = ..., signature: _Optional[bytes] = ..., scheme: _Optional[_Union[_common_pb2.SignatureScheme, _Mapping]] = ..., key_version: _Optional[int] = ...) -> None: ...

class VerifyResponse(_message.Message):
    __slots__ = ("valid",)
    VALID_FIELD_NUMBER: _ClassVar[int]
    valid: bool
    def __init__(self, valid: _Optional[bool] = ...) -> None: ...

class EncryptRequest(_message.Message):
    __slots__ = ("key_id", "plaintext", "scheme", "aad", "standard")
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    PLAINTEXT_FIELD_NUMBER: _ClassVar[int]
    SCHEME_FIELD_NUMBER: _ClassVar[int]
    AAD_FIELD_NUMBER: _ClassVar[int]
    STANDARD_FIELD_NUMBER: _ClassVar[int]
    key_id: str
    plaintext: bytes
    scheme: _common_pb2.EncryptionScheme
    aad: bytes
    standard: StandardFormat
    def __init__(self, key_id: _Optional[str] = ..., plaintext: _Optional[bytes] = ..., scheme: _Optional[_Union[_common_pb2.EncryptionScheme, str]] = ..., aad: _Optional[bytes] = ..., standard: _Optional[_Union[StandardFormat, _Mapping]] = ...) -> None: ...

class StandardFormat(_message.Message):
    __slots__ = ("iv", "tag_length", "key_version", "label")
    IV_FIELD_NUMBER: _ClassVar[int]
    TAG_LENGTH_FIELD_NUMBER: _ClassVar[int]
    KEY_VERSION_FIELD_NUMBER: _ClassVar[int]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    iv: bytes
    tag_length: int
    key_version: int
    label: bytes
    def __init__(self, iv: _Optional[bytes] = ..., tag_length: _Optional[int] = ..., key_version: _Optional[int] = ..., label: _Optional[bytes] = ...) -> None: ...

class EncryptResponse(_message.Message):
    __slots__ = ("ciphertext", "iv", "key_version")
    CIPHERTEXT_FIELD_NUMBER: _ClassVar[int]
    IV_FIELD_NUMBER: _ClassVar[int]
    KEY_VERSION_FIELD_NUMBER: _ClassVar[int]
    ciphertext: bytes
    iv: bytes
    key_version: int
    def __init__(self, ciphertext: _Optional[bytes] = ..., iv: _Optional[bytes] = ..., key_version: _Optional[int] = ...) -> None: ...

class DecryptRequest(_message.Message):
    __slots__ = ("key_id", "ciphertext", "scheme", "aad", "standard")
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    CIPHERTEXT_FIELD_NUMBER: _ClassVar[int]
    SCHEME_FIELD_NUMBER: _ClassVar[int]
    AAD_FIELD_NUMBER: _ClassVar[int]
    STANDARD_FIELD_NUMBER: _ClassVar[int]
    key_id: str
    ciphertext: bytes
    scheme: _common_pb2.EncryptionScheme
    aad: bytes
    standard: StandardFormat
    def __init__(self, key_id: _Optional[str] = ..., ciphertext: _Optional[bytes] = ..., scheme: _Optional[_Union[_common_pb2.EncryptionScheme, str]] = ..., aad: _Optional[bytes] = ..., standard: _Optional[_Union[StandardFormat, _Mapping]] = ...) -> None: ...

class DecryptResponse(_message.Message):
    __slots__ = ("plaintext", "pending_request")
    PLAINTEXT_FIELD_NUMBER: _ClassVar[int]
    PENDING_REQUEST_FIELD_NUMBER: _ClassVar[int]
    plaintext: bytes
    pending_request: _common_pb2.ApprovalRequest
    def __init__(self, plaintext: _Optional[bytes] = ..., pending_request: _Optional[_Union[_common_pb2.ApprovalRequest, _Mapping]] = ...) -> None: ...

class MacRequest(_message.Message):
    __slots__ = ("key_id", "data", "hash", "standard")
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    HASH_FIELD_NUMBER: _ClassVar[int]
    STANDARD_FIELD_NUMBER: _ClassVar[int]
    key_id: str
    data: bytes
    hash: _common_pb2.HashAlgorithm
    standard: StandardFormat
    def __init__(self, key_id: _Optional[str] = ..., data: _Optional[bytes] = ..., hash: _Optional[_Union[_common_pb2.HashAlgorithm, str]] = ..., standard: _Optional[_Union[StandardFormat, _Mapping]] = ...) -> None: ...

class MacResponse(_message.Message):
    __slots__ = ("tag", "pending_request")
    TAG_FIELD_NUMBER: _ClassVar[int]
    PENDING_REQUEST_FIELD_NUMBER: _ClassVar[int]
    tag: bytes
    pending_request: _common_pb2.ApprovalRequest
    def __init__(self, tag: _Optional[bytes] = ..., pending_request: _Optional[_Union[_common_pb2.ApprovalRequest, _Mapping]] = ...) -> None: ...

class VerifyMacRequest(_message.Message):
    __slots__ = ("key_id", "data", "tag", "hash", "standard")
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    TAG_FIELD_NUMBER: _ClassVar[int]
    HASH_FIELD_NUMBER: _ClassVar[int]
    STANDARD_FIELD_NUMBER: _ClassVar[int]
    key_id: str
    data: bytes
    tag: bytes
    hash: _common_pb2.HashAlgorithm
    standard: StandardFormat
    def __init__(self, key_id: _Optional[str] = ..., data: _Optional[bytes] = ..., tag: _Optional[bytes] = ..., hash: _Optional[_Union[_common_pb2.HashAlgorithm, str]] = ..., standard: _Optional[_Union[StandardFormat, _Mapping]] = ...) -> None: ...

class VerifyMacResponse(_message.Message):
    __slots__ = ("valid",)
    VALID_FIELD_NUMBER: _ClassVar[int]
    valid: bool
    def __init__(self, valid: _Optional[bool] = ...) -> None: ...

class WrapRequest(_message.Message):
    __slots__ = ("key_id", "wrapping_key_id", "scheme", "standard")
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    WRAPPING_KEY_ID_FIELD_NUMBER: _ClassVar[int]
    SCHEME_FIELD_NUMBER: _ClassVar[int]
    STANDARD_FIELD_NUMBER: _ClassVar[int]
    key_id: str
    wrapping_key_id: str
    scheme: _common_pb2.WrapScheme
    standard: StandardFormat
    def __init__(self, key_id: _Optional[str] = ..., wrapping_key_id: _Optional[str] = ..., scheme: _Optional[_Union[_common_pb2.WrapScheme, str]] = ..., standard: _Optional[_Union[StandardFormat, _Mapping]] = ...) -> None: ...

class WrapResponse(_message.Message):
    __slots__ = ("wrapped_key", "key_version")
    WRAPPED_KEY_FIELD_NUMBER: _ClassVar[int]
    KEY_VERSION_FIELD_NUMBER: _ClassVar[int]
    wrapped_key: bytes
    key_version: int
    def __init__(self, wrapped_key: _Optional[bytes] = ..., key_version: _Optional[int] = ...) -> None: ...

class UnwrapRequest(_message.Message):
    __slots__ = ("wrapping_key_id", "scheme", "wrapped_key", "spec", "request_id", "standard")
    WRAPPING_KEY_ID_FIELD_NUMBER: _ClassVar[int]
    SCHEME_FIELD_NUMBER: _ClassVar[int]
    WRAPPED_KEY_FIELD_NUMBER: _ClassVar[int]
    SPEC_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    STANDARD_FIELD_NUMBER: _ClassVar[int]
    wrapping_key_id: str
    scheme: _common_pb2.WrapScheme
    wrapped_key: bytes
    spec: _common_pb2.KeySpec
    request_id: str
    standard: StandardFormat
    def __init__(self, wrapping_key_id: _Optional[str] = ..., scheme: _Optional[_Union[_common_pb2.WrapScheme, str]] = ..., wrapped_key: _Optional[bytes] = ..., spec: _Optional[_Union[_common_pb2.KeySpec, _Mapping]] = ..., request_id: _Optional[str] = ..., standard: _Optional[_Union[StandardFormat, _Mapping]] = ...) -> None: ...

class UnwrapResponse(_message.Message):
    __slots__ = ("key",)
    KEY_FIELD_NUMBER: _ClassVar[int]
    key: _common_pb2.KeyInfo
    def __init__(self, key: _Optional[_Union[_common_pb2.KeyInfo, _Mapping]] = ...) -> None: ...

class KeyDerivation(_message.Message):
    __slots__ = ("hkdf", "identity")
    class Hkdf(_message.Message):
        __slots__ = ("hash", "salt", "info", "output_length_bytes")
        HASH_FIELD_NUMBER: _ClassVar[int]
        SALT_FIELD_NUMBER: _ClassVar[int]
        INFO_FIELD_NUMBER: _ClassVar[int]
        OUTPUT_LENGTH_BYTES_FIELD_NUMBER: _ClassVar[int]
        hash: _common_pb2.HashAlgorithm
        salt: bytes
        info: bytes
        output_length_bytes: int
        def __init__(self, hash: _Optional[_Union[_common_pb2.HashAlgorithm, str]] = ..., salt: _Optional[bytes] = ..., info: _Optional[bytes] = ..., output_length_bytes: _Optional[int] = ...) -> None: ...
    class Identity(_message.Message):
        __slots__ = ("output_length_bytes",)
        OUTPUT_LENGTH_BYTES_FIELD_NUMBER: _ClassVar[int]
        output_length_bytes: int
        def __init__(self, output_length_bytes: _Optional[int] = ...) -> None: ...
    HKDF_FIELD_NUMBER: _ClassVar[int]
    IDENTITY_FIELD_NUMBER: _ClassVar[int]
    hkdf: KeyDerivation.Hkdf
    identity: KeyDerivation.Identity
    def __init__(self, hkdf: _Optional[_Union[KeyDerivation.Hkdf, _Mapping]] = ..., identity: _Optional[_Union[KeyDerivation.Identity, _Mapping]] = ...) -> None: ...

class DeriveKeyRequest(_message.Message):
    __slots__ = ("key_id", "peer_public_key", "derivation", "spec", "request_id")
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    PEER_PUBLIC_KEY_FIELD_NUMBER: _ClassVar[int]
    DERIVATION_FIELD_NUMBER: _ClassVar[int]
    SPEC_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    key_id: str
    peer_public_key: _common_pb2.PublicKey
    derivation: KeyDerivation
    spec: _common_pb2.KeySpec
    request_id: str
    def __init__(self, key_id: _Optional[str] = ..., peer_public_key: _Optional[_Union[_common_pb2.PublicKey, _Mapping]] = ..., derivation: _Optional[_Union[KeyDerivation, _Mapping]] = ..., spec: _Optional[_Union[_common_pb2.KeySpec, _Mapping]] = ..., request_id: _Optional[str] = ...) -> None: ...

class DeriveKeyResponse(_message.Message):
    __slots__ = ("key",)
    KEY_FIELD_NUMBER: _ClassVar[int]
    key: _common_pb2.KeyInfo
    def __init__(self, key: _Optional[_Union[_common_pb2.KeyInfo, _Mapping]] = ...) -> None: ...

class RandomRequest(_message.Message):
    __slots__ = ("length_bytes",)
    LENGTH_BYTES_FIELD_NUMBER: _ClassVar[int]
    length_bytes: int
    def __init__(self, length_bytes: _Optional[int] = ...) -> None: ...

class RandomResponse(_message.Message):
    __slots__ = ("data",)
    DATA_FIELD_NUMBER: _ClassVar[int]
    data: bytes
    def __init__(self, data: _Optional[bytes] = ...) -> None: ...

class EncapsulateRequest(_message.Message):
    __slots__ = ("key_id", "spec", "request_id")
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    SPEC_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    key_id: str
    spec: _common_pb2.KeySpec
    request_id: str
    def __init__(self, key_id: _Optional[str] = ..., spec: _Optional[_Union[_common_pb2.KeySpec, _Mapping]] = ..., request_id: _Optional[str] = ...) -> None: ...

class EncapsulateResponse(_message.Message):
    __slots__ = ("key", "encapsulated_key")
    KEY_FIELD_NUMBER: _ClassVar[int]
    ENCAPSULATED_KEY_FIELD_NUMBER: _ClassVar[int]
    key: _common_pb2.KeyInfo
    encapsulated_key: bytes
    def __init__(self, key: _Optional[_Union[_common_pb2.KeyInfo, _Mapping]] = ..., encapsulated_key: _Optional[bytes] = ...) -> None: ...

class DecapsulateRequest(_message.Message):
    __slots__ = ("key_id", "encapsulated_key", "spec", "request_id")
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    ENCAPSULATED_KEY_FIELD_NUMBER: _ClassVar[int]
    SPEC_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    key_id: str
    encapsulated_key: bytes
    spec: _common_pb2.KeySpec
    request_id: str
    def __init__(self, key_id: _Optional[str] = ..., encapsulated_key: _Optional[bytes] = ..., spec: _Optional[_Union[_common_pb2.KeySpec, _Mapping]] = ..., request_id: _Optional[str] = ...) -> None: ...

class DecapsulateResponse(_message.Message):
    __slots__ = ("key",)
    KEY_FIELD_NUMBER: _ClassVar[int]
    key: _common_pb2.KeyInfo
    def __init__(self, key: _Optional[_Union[_common_pb2.KeyInfo, _Mapping]] = ...) -> None: ...

class SignBatchRequest(_message.Message):
    __slots__ = ("items",)
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedCompositeFieldContainer[SignRequest]
    def __init__(self, items: _Optional[_Iterable[_Union[SignRequest, _Mapping]]] = ...) -> None: ...

class SignBatchResponse(_message.Message):
    __slots__ = ("items",)
    class Item(_message.Message):
        __slots__ = ("response", "error")
        RESPONSE_FIELD_NUMBER: _ClassVar[int]
        ERROR_FIELD_NUMBER: _ClassVar[int]
        response: SignResponse
        error: _common_pb2.ErrorDetail
        def __init__(self, response: _Optional[_Union[SignResponse, _Mapping]] = ..., error: _Optional[_Union[_common_pb2.ErrorDetail, _Mapping]] = ...) -> None: ...
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedCompositeFieldContainer[SignBatchResponse.Item]
    def __init__(self, items: _Optional[_Iterable[_Union[SignBatchResponse.Item, _Mapping]]] = ...) -> None: ...

class VerifyBatchRequest(_message.Message):
    __slots__ = ("items",)
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedCompositeFieldContainer[VerifyRequest]
    def __init__(self, items: _Optional[_Iterable[_Union[VerifyRequest, _Mapping]]] = ...) -> None: ...

class VerifyBatchResponse(_message.Message):
    __slots__ = ("items",)
    class Item(_message.Message):
        __slots__ = ("response", "error")
        RESPONSE_FIELD_NUMBER: _ClassVar[int]
        ERROR_FIELD_NUMBER: _ClassVar[int]
        response: VerifyResponse
        error: _common_pb2.ErrorDetail
        def __init__(self, response: _Optional[_Union[VerifyResponse, _Mapping]] = ..., error: _Optional[_Union[_common_pb2.ErrorDetail, _Mapping]] = ...) -> None: ...
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedCompositeFieldContainer[VerifyBatchResponse.Item]
    def __init__(self, items: _Optional[_Iterable[_Union[VerifyBatchResponse.Item, _Mapping]]] = ...) -> None: ...

class EncryptBatchRequest(_message.Message):
    __slots__ = ("items",)
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedCompositeFieldContainer[EncryptRequest]
    def __init__(self, items: _Optional[_Iterable[_Union[EncryptRequest, _Mapping]]] = ...) -> None: ...

class EncryptBatchResponse(_message.Message):
    __slots__ = ("items",)
    class Item(_message.Message):
        __slots__ = ("response", "error")
        RESPONSE_FIELD_NUMBER: _ClassVar[int]
        ERROR_FIELD_NUMBER: _ClassVar[int]
        response: EncryptResponse
        error: _common_pb2.ErrorDetail
        def __init__(self, response: _Optional[_Union[EncryptResponse, _Mapping]] = ..., error: _Optional[_Union[_common_pb2.ErrorDetail, _Mapping]] = ...) -> None: ...
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedCompositeFieldContainer[EncryptBatchResponse.Item]
    def __init__(self, items: _Optional[_Iterable[_Union[EncryptBatchResponse.Item, _Mapping]]] = ...) -> None: ...

class DecryptBatchRequest(_message.Message):
    __slots__ = ("items",)
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedCompositeFieldContainer[DecryptRequest]
    def __init__(self, items: _Optional[_Iterable[_Union[DecryptRequest, _Mapping]]] = ...) -> None: ...

class DecryptBatchResponse(_message.Message):
    __slots__ = ("items",)
    class Item(_message.Message):
        __slots__ = ("response", "error")
        RESPONSE_FIELD_NUMBER: _ClassVar[int]
        ERROR_FIELD_NUMBER: _ClassVar[int]
        response: DecryptResponse
        error: _common_pb2.ErrorDetail
        def __init__(self, response: _Optional[_Union[DecryptResponse, _Mapping]] = ..., error: _Optional[_Union[_common_pb2.ErrorDetail, _Mapping]] = ...) -> None: ...
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedCompositeFieldContainer[DecryptBatchResponse.Item]
    def __init__(self, items: _Optional[_Iterable[_Union[DecryptBatchResponse.Item, _Mapping]]] = ...) -> None: ...

class MacBatchRequest(_message.Message):
    __slots__ = ("items",)
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedCompositeFieldContainer[MacRequest]
    def __init__(self, items: _Optional[_Iterable[_Union[MacRequest, _Mapping]]] = ...) -> None: ...

class MacBatchResponse(_message.Message):
    __slots__ = ("items",)
    class Item(_message.Message):
        __slots__ = ("response", "error")
        RESPONSE_FIELD_NUMBER: _ClassVar[int]
        ERROR_FIELD_NUMBER: _ClassVar[int]
        response: MacResponse
        error: _common_pb2.ErrorDetail
        def __init__(self, response: _Optional[_Union[MacResponse, _Mapping]] = ..., error: _Optional[_Union[_common_pb2.ErrorDetail, _Mapping]] = ...) -> None: ...
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedCompositeFieldContainer[MacBatchResponse.Item]
    def __init__(self, items: _Optional[_Iterable[_Union[MacBatchResponse.Item, _Mapping]]] = ...) -> None: ...

class SignStreamRequest(_message.Message):
    __slots__ = ("id", "request")
    ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_FIELD_NUMBER: _ClassVar[int]
    id: int
    request: SignRequest
    def __init__(self, id: _Optional[int] = ..., request: _Optional[_Union[SignRequest, _Mapping]] = ...) -> None: ...

class SignStreamResponse(_message.Message):
    __slots__ = ("id", "response", "error")
    ID_FIELD_NUMBER: _ClassVar[int]
    RESPONSE_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    id: int
    response: SignResponse
    error: _common_pb2.ErrorDetail
    def __init__(self, id: _Optional[int] = ..., response: _Optional[_Union[SignResponse, _Mapping]] = ..., error: _Optional[_Union[_common_pb2.ErrorDetail, _Mapping]] = ...) -> None: ...
