import datetime

from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from redoubt.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class KeyUseAudit(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    KEY_USE_AUDIT_UNSPECIFIED: _ClassVar[KeyUseAudit]
    KEY_USE_AUDIT_EVERY_USE: _ClassVar[KeyUseAudit]
    KEY_USE_AUDIT_AGGREGATED: _ClassVar[KeyUseAudit]
KEY_USE_AUDIT_UNSPECIFIED: KeyUseAudit
KEY_USE_AUDIT_EVERY_USE: KeyUseAudit
KEY_USE_AUDIT_AGGREGATED: KeyUseAudit

class PartitionSettings(_message.Message):
    __slots__ = ("import_allowed", "export_allowed", "read_only", "maximum_objects", "crypto_users_may_create_keys", "maximum_session_lifetime", "session_idle_timeout", "allowed_sources", "key_use_audit")
    IMPORT_ALLOWED_FIELD_NUMBER: _ClassVar[int]
    EXPORT_ALLOWED_FIELD_NUMBER: _ClassVar[int]
    READ_ONLY_FIELD_NUMBER: _ClassVar[int]
    MAXIMUM_OBJECTS_FIELD_NUMBER: _ClassVar[int]
    CRYPTO_USERS_MAY_CREATE_KEYS_FIELD_NUMBER: _ClassVar[int]
    MAXIMUM_SESSION_LIFETIME_FIELD_NUMBER: _ClassVar[int]
    SESSION_IDLE_TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    ALLOWED_SOURCES_FIELD_NUMBER: _ClassVar[int]
    KEY_USE_AUDIT_FIELD_NUMBER: _ClassVar[int]
    import_allowed: bool
    export_allowed: bool
    read_only: bool
    maximum_objects: int
    crypto_users_may_create_keys: bool
    maximum_session_lifetime: _duration_pb2.Duration
    session_idle_timeout: _duration_pb2.Duration
    allowed_sources: SourceRestriction
    key_use_audit: KeyUseAudit
    def __init__(self, import_allowed: _Optional[bool] = ..., export_allowed: _Optional[bool] = ..., read_only: _Optional[bool] = ..., maximum_objects: _Optional[int] = ..., crypto_users_may_create_keys: _Optional[bool] = ..., maximum_session_lifetime: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., session_idle_timeout: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., allowed_sources: _Optional[_Union[SourceRestriction, _Mapping]] = ..., key_use_audit: _Optional[_Union[KeyUseAudit, str]] = ...) -> None: ...

class SourceRestriction(_message.Message):
    __slots__ = ("cidrs",)
    CIDRS_FIELD_NUMBER: _ClassVar[int]
    cidrs: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, cidrs: _Optional[_Iterable[str]] = ...) -> None: ...

class PartitionInfo(_message.Message):
    __slots__ = ("id", "settings", "create_time")
    ID_FIELD_NUMBER: _ClassVar[int]
    SETTINGS_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    id: str
    settings: PartitionSettings
    create_time: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., settings: _Optional[_Union[PartitionSettings, _Mapping]] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class UserInfo(_message.Message):
    __slots__ = ("id", "name", "role", "partition_id", "has_password", "has_client_certificate")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    PARTITION_ID_FIELD_NUMBER: _ClassVar[int]
    HAS_PASSWORD_FIELD_NUMBER: _ClassVar[int]
    HAS_CLIENT_CERTIFICATE_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    role: _common_pb2.Role
    partition_id: str
    has_password: bool
    has_client_certificate: bool
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., role: _Optional[_Union[_common_pb2.Role, str]] = ..., partition_id: _Optional[str] = ..., has_password: _Optional[bool] = ..., has_client_certificate: _Optional[bool] = ...) -> None: ...

class CreatePartitionRequest(_message.Message):
    __slots__ = ("partition_id", "settings")
    PARTITION_ID_FIELD_NUMBER: _ClassVar[int]
    SETTINGS_FIELD_NUMBER: _ClassVar[int]
    partition_id: str
    settings: PartitionSettings
    def __init__(self, partition_id: _Optional[str] = ..., settings: _Optional[_Union[PartitionSettings, _Mapping]] = ...) -> None: ...

class CreatePartitionResponse(_message.Message):
    __slots__ = ("partition", "security_officer", "security_officer_api_key")
    PARTITION_FIELD_NUMBER: _ClassVar[int]
    SECURITY_OFFICER_FIELD_NUMBER: _ClassVar[int]
    SECURITY_OFFICER_API_KEY_FIELD_NUMBER: _ClassVar[int]
    partition: PartitionInfo
    security_officer: UserInfo
    security_officer_api_key: str
    def __init__(self, partition: _Optional[_Union[PartitionInfo, _Mapping]] = ..., security_officer: _Optional[_Union[UserInfo, _Mapping]] = ..., security_officer_api_key: _Optional[str] = ...) -> None: ...

class ListPartitionsRequest(_message.Message):
    __slots__ = ("page_size", "page_token")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListPartitionsResponse(_message.Message):
    __slots__ = ("partitions", "next_page_token")
    PARTITIONS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    partitions: _containers.RepeatedCompositeFieldContainer[PartitionInfo]
    next_page_token: str
    def __init__(self, partitions: _Optional[_Iterable[_Union[PartitionInfo, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class UpdatePartitionRequest(_message.Message):
    __slots__ = ("partition_id", "settings")
    PARTITION_ID_FIELD_NUMBER: _ClassVar[int]
    SETTINGS_FIELD_NUMBER: _ClassVar[int]
    partition_id: str
    settings: PartitionSettings
    def __init__(self, partition_id: _Optional[str] = ..., settings: _Optional[_Union[PartitionSettings, _Mapping]] = ...) -> None: ...

class UpdatePartitionResponse(_message.Message):
    __slots__ = ("partition",)
    PARTITION_FIELD_NUMBER: _ClassVar[int]
    partition: PartitionInfo
    def __init__(self, partition: _Optional[_Union[PartitionInfo, _Mapping]] = ...) -> None: ...

class AddUserRequest(_message.Message):
    __slots__ = ("name", "role", "password", "client_certificate_sha256")
    NAME_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    PASSWORD_FIELD_NUMBER: _ClassVar[int]
    CLIENT_CERTIFICATE_SHA256_FIELD_NUMBER: _ClassVar[int]
    name: str
    role: _common_pb2.Role
    password: str
    client_certificate_sha256: bytes
    def __init__(self, name: _Optional[str] = ..., role: _Optional[_Union[_common_pb2.Role, str]] = ..., password: _Optional[str] = ..., client_certificate_sha256: _Optional[bytes] = ...) -> None: ...

class AddUserResponse(_message.Message):
    __slots__ = ("user", "api_key")
    USER_FIELD_NUMBER: _ClassVar[int]
    API_KEY_FIELD_NUMBER: _ClassVar[int]
    user: UserInfo
    api_key: str
    def __init__(self, user: _Optional[_Union[UserInfo, _Mapping]] = ..., api_key: _Optional[str] = ...) -> None: ...

class ListUsersRequest(_message.Message):
    __slots__ = ("page_size", "page_token")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListUsersResponse(_message.Message):
    __slots__ = ("users", "next_page_token")
    USERS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    users: _containers.RepeatedCompositeFieldContainer[UserInfo]
    next_page_token: str
    def __init__(self, users: _Optional[_Iterable[_Union[UserInfo, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class RemoveUserRequest(_message.Message):
    __slots__ = ("user_id",)
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    def __init__(self, user_id: _Optional[str] = ...) -> None: ...

class RemoveUserResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class TokenIssuer(_message.Message):
    __slots__ = ("name", "issuer", "audiences", "user_claim", "required_claims", "jwks", "jwks_file", "jwks_url", "discovery", "refresh_interval", "maximum_staleness")
    class RequiredClaimsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    ISSUER_FIELD_NUMBER: _ClassVar[int]
    AUDIENCES_FIELD_NUMBER: _ClassVar[int]
    USER_CLAIM_FIELD_NUMBER: _ClassVar[int]
    REQUIRED_CLAIMS_FIELD_NUMBER: _ClassVar[int]
    JWKS_FIELD_NUMBER: _ClassVar[int]
    JWKS_FILE_FIELD_NUMBER: _ClassVar[int]
    JWKS_URL_FIELD_NUMBER: _ClassVar[int]
    DISCOVERY_FIELD_NUMBER: _ClassVar[int]
    REFRESH_INTERVAL_FIELD_NUMBER: _ClassVar[int]
    MAXIMUM_STALENESS_FIELD_NUMBER: _ClassVar[int]
    name: str
    issuer: str
    audiences: _containers.RepeatedScalarFieldContainer[str]
    user_claim: str
    required_claims: _containers.ScalarMap[str, str]
    jwks: str
    jwks_file: str
    jwks_url: str
    discovery: bool
    refresh_interval: _duration_pb2.Duration
    maximum_staleness: _duration_pb2.Duration
    def __init__(self, name: _Optional[str] = ..., issuer: _Optional[str] = ..., audiences: _Optional[_Iterable[str]] = ..., user_claim: _Optional[str] = ..., required_claims: _Optional[_Mapping[str, str]] = ..., jwks: _Optional[str] = ..., jwks_file: _Optional[str] = ..., jwks_url: _Optional[str] = ..., discovery: _Optional[bool] = ..., refresh_interval: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., maximum_staleness: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class BindTokenIssuerRequest(_message.Message):
    __slots__ = ("issuer",)
    ISSUER_FIELD_NUMBER: _ClassVar[int]
    issuer: TokenIssuer
    def __init__(self, issuer: _Optional[_Union[TokenIssuer, _Mapping]] = ...) -> None: ...

class BindTokenIssuerResponse(_message.Message):
    __slots__ = ("issuer",)
    ISSUER_FIELD_NUMBER: _ClassVar[int]
    issuer: TokenIssuer
    def __init__(self, issuer: _Optional[_Union[TokenIssuer, _Mapping]] = ...) -> None: ...

class ListTokenIssuersRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListTokenIssuersResponse(_message.Message):
    __slots__ = ("issuers",)
    ISSUERS_FIELD_NUMBER: _ClassVar[int]
    issuers: _containers.RepeatedCompositeFieldContainer[TokenIssuer]
    def __init__(self, issuers: _Optional[_Iterable[_Union[TokenIssuer, _Mapping]]] = ...) -> None: ...

class UnbindTokenIssuerRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class UnbindTokenIssuerResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...
