import datetime

from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class KeyAlgorithm(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    KEY_ALGORITHM_UNSPECIFIED: _ClassVar[KeyAlgorithm]
    KEY_ALGORITHM_AES_128: _ClassVar[KeyAlgorithm]
    KEY_ALGORITHM_AES_192: _ClassVar[KeyAlgorithm]
    KEY_ALGORITHM_AES_256: _ClassVar[KeyAlgorithm]
    KEY_ALGORITHM_GENERIC_SECRET: _ClassVar[KeyAlgorithm]
    KEY_ALGORITHM_EC_P256: _ClassVar[KeyAlgorithm]
    KEY_ALGORITHM_EC_P384: _ClassVar[KeyAlgorithm]
    KEY_ALGORITHM_EC_P521: _ClassVar[KeyAlgorithm]
    KEY_ALGORITHM_EC_SECP256K1: _ClassVar[KeyAlgorithm]
    KEY_ALGORITHM_EC_BRAINPOOL_P256R1: _ClassVar[KeyAlgorithm]
    KEY_ALGORITHM_EC_BRAINPOOL_P384R1: _ClassVar[KeyAlgorithm]
    KEY_ALGORITHM_ED25519: _ClassVar[KeyAlgorithm]
    KEY_ALGORITHM_X25519: _ClassVar[KeyAlgorithm]
    KEY_ALGORITHM_RSA_2048: _ClassVar[KeyAlgorithm]
    KEY_ALGORITHM_RSA_3072: _ClassVar[KeyAlgorithm]
    KEY_ALGORITHM_RSA_4096: _ClassVar[KeyAlgorithm]
    KEY_ALGORITHM_ML_DSA_65: _ClassVar[KeyAlgorithm]
    KEY_ALGORITHM_ML_DSA_87: _ClassVar[KeyAlgorithm]
    KEY_ALGORITHM_ML_KEM_768: _ClassVar[KeyAlgorithm]
    KEY_ALGORITHM_ML_KEM_1024: _ClassVar[KeyAlgorithm]

class KeyUsage(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    KEY_USAGE_UNSPECIFIED: _ClassVar[KeyUsage]
    KEY_USAGE_SIGN: _ClassVar[KeyUsage]
    KEY_USAGE_VERIFY: _ClassVar[KeyUsage]
    KEY_USAGE_ENCRYPT: _ClassVar[KeyUsage]
    KEY_USAGE_DECRYPT: _ClassVar[KeyUsage]
    KEY_USAGE_WRAP: _ClassVar[KeyUsage]
    KEY_USAGE_UNWRAP: _ClassVar[KeyUsage]
    KEY_USAGE_DERIVE: _ClassVar[KeyUsage]
    KEY_USAGE_MAC: _ClassVar[KeyUsage]
    KEY_USAGE_ENCAPSULATE: _ClassVar[KeyUsage]
    KEY_USAGE_DECAPSULATE: _ClassVar[KeyUsage]

class HashAlgorithm(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    HASH_ALGORITHM_UNSPECIFIED: _ClassVar[HashAlgorithm]
    HASH_ALGORITHM_SHA_256: _ClassVar[HashAlgorithm]
    HASH_ALGORITHM_SHA_384: _ClassVar[HashAlgorithm]
    HASH_ALGORITHM_SHA_512: _ClassVar[HashAlgorithm]

class EcdsaSignatureEncoding(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ECDSA_SIGNATURE_ENCODING_UNSPECIFIED: _ClassVar[EcdsaSignatureEncoding]
    ECDSA_SIGNATURE_ENCODING_DER: _ClassVar[EcdsaSignatureEncoding]
    ECDSA_SIGNATURE_ENCODING_RAW: _ClassVar[EcdsaSignatureEncoding]

class LowSPolicy(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    LOW_S_POLICY_UNSPECIFIED: _ClassVar[LowSPolicy]
    LOW_S_POLICY_STANDARD: _ClassVar[LowSPolicy]
    LOW_S_POLICY_STRICT: _ClassVar[LowSPolicy]

class EncryptionScheme(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ENCRYPTION_SCHEME_UNSPECIFIED: _ClassVar[EncryptionScheme]
    ENCRYPTION_SCHEME_AES_GCM: _ClassVar[EncryptionScheme]
    ENCRYPTION_SCHEME_CHACHA20_POLY1305: _ClassVar[EncryptionScheme]
    ENCRYPTION_SCHEME_AES_CBC_PKCS7: _ClassVar[EncryptionScheme]
    ENCRYPTION_SCHEME_RSA_OAEP_SHA256: _ClassVar[EncryptionScheme]

class WrapScheme(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    WRAP_SCHEME_UNSPECIFIED: _ClassVar[WrapScheme]
    WRAP_SCHEME_AES_KW: _ClassVar[WrapScheme]
    WRAP_SCHEME_AES_KWP: _ClassVar[WrapScheme]
    WRAP_SCHEME_AES_GCM: _ClassVar[WrapScheme]
    WRAP_SCHEME_RSA_OAEP_SHA256: _ClassVar[WrapScheme]

class KeyState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    KEY_STATE_UNSPECIFIED: _ClassVar[KeyState]
    KEY_STATE_ACTIVE: _ClassVar[KeyState]
    KEY_STATE_BLOCKED: _ClassVar[KeyState]
    KEY_STATE_DESTROYED: _ClassVar[KeyState]

class Role(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ROLE_UNSPECIFIED: _ClassVar[Role]
    ROLE_OPERATOR: _ClassVar[Role]
    ROLE_SECURITY_OFFICER: _ClassVar[Role]
    ROLE_CRYPTO_USER: _ClassVar[Role]
    ROLE_AUDITOR: _ClassVar[Role]
    ROLE_APPROVER: _ClassVar[Role]

class ErrorCode(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ERROR_CODE_UNSPECIFIED: _ClassVar[ErrorCode]
    ERROR_CODE_CANCELLED: _ClassVar[ErrorCode]
    ERROR_CODE_INVALID_ARGUMENT: _ClassVar[ErrorCode]
    ERROR_CODE_DEADLINE_EXCEEDED: _ClassVar[ErrorCode]
    ERROR_CODE_NOT_FOUND: _ClassVar[ErrorCode]
    ERROR_CODE_ALREADY_EXISTS: _ClassVar[ErrorCode]
    ERROR_CODE_PERMISSION_DENIED: _ClassVar[ErrorCode]
    ERROR_CODE_RESOURCE_EXHAUSTED: _ClassVar[ErrorCode]
    ERROR_CODE_FAILED_PRECONDITION: _ClassVar[ErrorCode]
    ERROR_CODE_ABORTED: _ClassVar[ErrorCode]
    ERROR_CODE_INTERNAL: _ClassVar[ErrorCode]
    ERROR_CODE_UNAVAILABLE: _ClassVar[ErrorCode]
    ERROR_CODE_UNAUTHENTICATED: _ClassVar[ErrorCode]

class ApprovalStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    APPROVAL_STATUS_UNSPECIFIED: _ClassVar[ApprovalStatus]
    APPROVAL_STATUS_PENDING: _ClassVar[ApprovalStatus]
    APPROVAL_STATUS_APPROVED: _ClassVar[ApprovalStatus]
    APPROVAL_STATUS_EXECUTED: _ClassVar[ApprovalStatus]
    APPROVAL_STATUS_REJECTED: _ClassVar[ApprovalStatus]
    APPROVAL_STATUS_EXPIRED: _ClassVar[ApprovalStatus]
    APPROVAL_STATUS_FAILED: _ClassVar[ApprovalStatus]
KEY_ALGORITHM_UNSPECIFIED: KeyAlgorithm
KEY_ALGORITHM_AES_128: KeyAlgorithm
KEY_ALGORITHM_AES_192: KeyAlgorithm
KEY_ALGORITHM_AES_256: KeyAlgorithm
KEY_ALGORITHM_GENERIC_SECRET: KeyAlgorithm
KEY_ALGORITHM_EC_P256: KeyAlgorithm
KEY_ALGORITHM_EC_P384: KeyAlgorithm
KEY_ALGORITHM_EC_P521: KeyAlgorithm
KEY_ALGORITHM_EC_SECP256K1: KeyAlgorithm
KEY_ALGORITHM_EC_BRAINPOOL_P256R1: KeyAlgorithm
KEY_ALGORITHM_EC_BRAINPOOL_P384R1: KeyAlgorithm
KEY_ALGORITHM_ED25519: KeyAlgorithm
KEY_ALGORITHM_X25519: KeyAlgorithm
KEY_ALGORITHM_RSA_2048: KeyAlgorithm
KEY_ALGORITHM_RSA_3072: KeyAlgorithm
KEY_ALGORITHM_RSA_4096: KeyAlgorithm
KEY_ALGORITHM_ML_DSA_65: KeyAlgorithm
KEY_ALGORITHM_ML_DSA_87: KeyAlgorithm
KEY_ALGORITHM_ML_KEM_768: KeyAlgorithm
KEY_ALGORITHM_ML_KEM_1024: KeyAlgorithm
KEY_USAGE_UNSPECIFIED: KeyUsage
KEY_USAGE_SIGN: KeyUsage
KEY_USAGE_VERIFY: KeyUsage
KEY_USAGE_ENCRYPT: KeyUsage
KEY_USAGE_DECRYPT: KeyUsage
KEY_USAGE_WRAP: KeyUsage
KEY_USAGE_UNWRAP: KeyUsage
KEY_USAGE_DERIVE: KeyUsage
KEY_USAGE_MAC: KeyUsage
KEY_USAGE_ENCAPSULATE: KeyUsage
KEY_USAGE_DECAPSULATE: KeyUsage
HASH_ALGORITHM_UNSPECIFIED: HashAlgorithm
HASH_ALGORITHM_SHA_256: HashAlgorithm
HASH_ALGORITHM_SHA_384: HashAlgorithm
HASH_ALGORITHM_SHA_512: HashAlgorithm
ECDSA_SIGNATURE_ENCODING_UNSPECIFIED: EcdsaSignatureEncoding
ECDSA_SIGNATURE_ENCODING_DER: EcdsaSignatureEncoding
ECDSA_SIGNATURE_ENCODING_RAW: EcdsaSignatureEncoding
LOW_S_POLICY_UNSPECIFIED: LowSPolicy
LOW_S_POLICY_STANDARD: LowSPolicy
LOW_S_POLICY_STRICT: LowSPolicy
ENCRYPTION_SCHEME_UNSPECIFIED: EncryptionScheme
ENCRYPTION_SCHEME_AES_GCM: EncryptionScheme
ENCRYPTION_SCHEME_CHACHA20_POLY1305: EncryptionScheme
ENCRYPTION_SCHEME_AES_CBC_PKCS7: EncryptionScheme
ENCRYPTION_SCHEME_RSA_OAEP_SHA256: EncryptionScheme
WRAP_SCHEME_UNSPECIFIED: WrapScheme
WRAP_SCHEME_AES_KW: WrapScheme
WRAP_SCHEME_AES_KWP: WrapScheme
WRAP_SCHEME_AES_GCM: WrapScheme
WRAP_SCHEME_RSA_OAEP_SHA256: WrapScheme
KEY_STATE_UNSPECIFIED: KeyState
KEY_STATE_ACTIVE: KeyState
KEY_STATE_BLOCKED: KeyState
KEY_STATE_DESTROYED: KeyState
ROLE_UNSPECIFIED: Role
ROLE_OPERATOR: Role
ROLE_SECURITY_OFFICER: Role
ROLE_CRYPTO_USER: Role
ROLE_AUDITOR: Role
ROLE_APPROVER: Role
ERROR_CODE_UNSPECIFIED: ErrorCode
ERROR_CODE_CANCELLED: ErrorCode
ERROR_CODE_INVALID_ARGUMENT: ErrorCode
ERROR_CODE_DEADLINE_EXCEEDED: ErrorCode
ERROR_CODE_NOT_FOUND: ErrorCode
ERROR_CODE_ALREADY_EXISTS: ErrorCode
ERROR_CODE_PERMISSION_DENIED: ErrorCode
ERROR_CODE_RESOURCE_EXHAUSTED: ErrorCode
ERROR_CODE_FAILED_PRECONDITION: ErrorCode
ERROR_CODE_ABORTED: ErrorCode
ERROR_CODE_INTERNAL: ErrorCode
ERROR_CODE_UNAVAILABLE: ErrorCode
ERROR_CODE_UNAUTHENTICATED: ErrorCode
APPROVAL_STATUS_UNSPECIFIED: ApprovalStatus
APPROVAL_STATUS_PENDING: ApprovalStatus
APPROVAL_STATUS_APPROVED: ApprovalStatus
APPROVAL_STATUS_EXECUTED: ApprovalStatus
APPROVAL_STATUS_REJECTED: ApprovalStatus
APPROVAL_STATUS_EXPIRED: ApprovalStatus
APPROVAL_STATUS_FAILED: ApprovalStatus

class SignatureScheme(_message.Message):
    __slots__ = ("ecdsa", "ed25519", "rsa_pss", "rsa_pkcs1v15", "ml_dsa", "rsa_pkcs1v15_raw")
    class Ecdsa(_message.Message):
        __slots__ = ("hash", "encoding", "low_s")
        HASH_FIELD_NUMBER: _ClassVar[int]
        ENCODING_FIELD_NUMBER: _ClassVar[int]
        LOW_S_FIELD_NUMBER: _ClassVar[int]
        hash: HashAlgorithm
        encoding: EcdsaSignatureEncoding
        low_s: LowSPolicy
        def __init__(self, hash: _Optional[_Union[HashAlgorithm, str]] = ..., encoding: _Optional[_Union[EcdsaSignatureEncoding, str]] = ..., low_s: _Optional[_Union[LowSPolicy, str]] = ...) -> None: ...
    class Ed25519(_message.Message):
        __slots__ = ()
        def __init__(self) -> None: ...
    class RsaPss(_message.Message):
        __slots__ = ("hash",)
        HASH_FIELD_NUMBER: _ClassVar[int]
        hash: HashAlgorithm
        def __init__(self, hash: _Optional[_Union[HashAlgorithm, str]] = ...) -> None: ...
    class RsaPkcs1v15(_message.Message):
        __slots__ = ("hash",)
        HASH_FIELD_NUMBER: _ClassVar[int]
        hash: HashAlgorithm
        def __init__(self, hash: _Optional[_Union[HashAlgorithm, str]] = ...) -> None: ...
    class RsaPkcs1v15Raw(_message.Message):
        __slots__ = ()
        def __init__(self) -> None: ...
    class MlDsa(_message.Message):
        __slots__ = ("context",)
        CONTEXT_FIELD_NUMBER: _ClassVar[int]
        context: bytes
        def __init__(self, context: _Optional[bytes] = ...) -> None: ...
    ECDSA_FIELD_NUMBER: _ClassVar[int]
    ED25519_FIELD_NUMBER: _ClassVar[int]
    RSA_PSS_FIELD_NUMBER: _ClassVar[int]
    RSA_PKCS1V15_FIELD_NUMBER: _ClassVar[int]
    ML_DSA_FIELD_NUMBER: _ClassVar[int]
    RSA_PKCS1V15_RAW_FIELD_NUMBER: _ClassVar[int]
    ecdsa: SignatureScheme.Ecdsa
    ed25519: SignatureScheme.Ed25519
    rsa_pss: SignatureScheme.RsaPss
    rsa_pkcs1v15: SignatureScheme.RsaPkcs1v15
    ml_dsa: SignatureScheme.MlDsa
    rsa_pkcs1v15_raw: SignatureScheme.RsaPkcs1v15Raw
    def __init__(self, ecdsa: _Optional[_Union[SignatureScheme.Ecdsa, _Mapping]] = ..., ed25519: _Optional[_Union[SignatureScheme.Ed25519, _Mapping]] = ..., rsa_pss: _Optional[_Union[SignatureScheme.RsaPss, _Mapping]] = ..., rsa_pkcs1v15: _Optional[_Union[SignatureScheme.RsaPkcs1v15, _Mapping]] = ..., ml_dsa: _Optional[_Union[SignatureScheme.MlDsa, _Mapping]] = ..., rsa_pkcs1v15_raw: _Optional[_Union[SignatureScheme.RsaPkcs1v15Raw, _Mapping]] = ...) -> None: ...

class SigningInput(_message.Message):
    __slots__ = ("message", "digest")
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    DIGEST_FIELD_NUMBER: _ClassVar[int]
    message: bytes
    digest: bytes
    def __init__(self, message: _Optional[bytes] = ..., digest: _Optional[bytes] = ...) -> None: ...

class KeySpec(_message.Message):
    __slots__ = ("algorithm", "label", "usages", "extractable", "sensitive", "modifiable", "destroyable", "not_before_time", "expire_time", "secret_length_bytes", "persistent", "policy", "application_id", "subject")
    ALGORITHM_FIELD_NUMBER: _ClassVar[int]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    USAGES_FIELD_NUMBER: _ClassVar[int]
    EXTRACTABLE_FIELD_NUMBER: _ClassVar[int]
    SENSITIVE_FIELD_NUMBER: _ClassVar[int]
    MODIFIABLE_FIELD_NUMBER: _ClassVar[int]
    DESTROYABLE_FIELD_NUMBER: _ClassVar[int]
    NOT_BEFORE_TIME_FIELD_NUMBER: _ClassVar[int]
    EXPIRE_TIME_FIELD_NUMBER: _ClassVar[int]
    SECRET_LENGTH_BYTES_FIELD_NUMBER: _ClassVar[int]
    PERSISTENT_FIELD_NUMBER: _ClassVar[int]
    POLICY_FIELD_NUMBER: _ClassVar[int]
    APPLICATION_ID_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    algorithm: KeyAlgorithm
    label: str
    usages: _containers.RepeatedScalarFieldContainer[KeyUsage]
    extractable: bool
    sensitive: bool
    modifiable: bool
    destroyable: bool
    not_before_time: _timestamp_pb2.Timestamp
    expire_time: _timestamp_pb2.Timestamp
    secret_length_bytes: int
    persistent: bool
    policy: KeyPolicy
    application_id: bytes
    subject: bytes
    def __init__(self, algorithm: _Optional[_Union[KeyAlgorithm, str]] = ..., label: _Optional[str] = ..., usages: _Optional[_Iterable[_Union[KeyUsage, str]]] = ..., extractable: _Optional[bool] = ..., sensitive: _Optional[bool] = ..., modifiable: _Optional[bool] = ..., destroyable: _Optional[bool] = ..., not_before_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., expire_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., secret_length_bytes: _Optional[int] = ..., persistent: _Optional[bool] = ..., policy: _Optional[_Union[KeyPolicy, _Mapping]] = ..., application_id: _Optional[bytes] = ..., subject: _Optional[bytes] = ...) -> None: ...

class ApproverGroup(_message.Message):
    __slots__ = ("approvers", "quorum")
    APPROVERS_FIELD_NUMBER: _ClassVar[int]
    QUORUM_FIELD_NUMBER: _ClassVar[int]
    approvers: _containers.RepeatedScalarFieldContainer[str]
    quorum: int
    def __init__(self, approvers: _Optional[_Iterable[str]] = ..., quorum: _Optional[int] = ...) -> None: ...

class ApprovalToken(_message.Message):
    __slots__ = ("groups", "timelock", "timeout")
    GROUPS_FIELD_NUMBER: _ClassVar[int]
    TIMELOCK_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    groups: _containers.RepeatedCompositeFieldContainer[ApproverGroup]
    timelock: _duration_pb2.Duration
    timeout: _duration_pb2.Duration
    def __init__(self, groups: _Optional[_Iterable[_Union[ApproverGroup, _Mapping]]] = ..., timelock: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., timeout: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class ApprovalRule(_message.Message):
    __slots__ = ("tokens",)
    TOKENS_FIELD_NUMBER: _ClassVar[int]
    tokens: _containers.RepeatedCompositeFieldContainer[ApprovalToken]
    def __init__(self, tokens: _Optional[_Iterable[_Union[ApprovalToken, _Mapping]]] = ...) -> None: ...

class KeyPolicy(_message.Message):
    __slots__ = ("use", "block", "unblock", "modify")
    USE_FIELD_NUMBER: _ClassVar[int]
    BLOCK_FIELD_NUMBER: _ClassVar[int]
    UNBLOCK_FIELD_NUMBER: _ClassVar[int]
    MODIFY_FIELD_NUMBER: _ClassVar[int]
    use: ApprovalRule
    block: ApprovalRule
    unblock: ApprovalRule
    modify: ApprovalRule
    def __init__(self, use: _Optional[_Union[ApprovalRule, _Mapping]] = ..., block: _Optional[_Union[ApprovalRule, _Mapping]] = ..., unblock: _Optional[_Union[ApprovalRule, _Mapping]] = ..., modify: _Optional[_Union[ApprovalRule, _Mapping]] = ...) -> None: ...

class PublicKey(_message.Message):
    __slots__ = ("spki_der", "algorithm")
    SPKI_DER_FIELD_NUMBER: _ClassVar[int]
    ALGORITHM_FIELD_NUMBER: _ClassVar[int]
    spki_der: bytes
    algorithm: KeyAlgorithm
    def __init__(self, spki_der: _Optional[bytes] = ..., algorithm: _Optional[_Union[KeyAlgorithm, str]] = ...) -> None: ...

class KeyInfo(_message.Message):
    __slots__ = ("id", "label", "algorithm", "usages", "extractable", "sensitive", "never_extractable", "always_sensitive", "modifiable", "destroyable", "local", "not_before_time", "expire_time", "state", "latest_version", "minimum_version", "persistent", "create_time", "public_key", "policy", "application_id", "subject")
    ID_FIELD_NUMBER: _ClassVar[int]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    ALGORITHM_FIELD_NUMBER: _ClassVar[int]
    USAGES_FIELD_NUMBER: _ClassVar[int]
    EXTRACTABLE_FIELD_NUMBER: _ClassVar[int]
    SENSITIVE_FIELD_NUMBER: _ClassVar[int]
    NEVER_EXTRACTABLE_FIELD_NUMBER: _ClassVar[int]
    ALWAYS_SENSITIVE_FIELD_NUMBER: _ClassVar[int]
    MODIFIABLE_FIELD_NUMBER: _ClassVar[int]
    DESTROYABLE_FIELD_NUMBER: _ClassVar[int]
    LOCAL_FIELD_NUMBER: _ClassVar[int]
    NOT_BEFORE_TIME_FIELD_NUMBER: _ClassVar[int]
    EXPIRE_TIME_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    LATEST_VERSION_FIELD_NUMBER: _ClassVar[int]
    MINIMUM_VERSION_FIELD_NUMBER: _ClassVar[int]
    PERSISTENT_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    PUBLIC_KEY_FIELD_NUMBER: _ClassVar[int]
    POLICY_FIELD_NUMBER: _ClassVar[int]
    APPLICATION_ID_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    id: str
    label: str
    algorithm: KeyAlgorithm
    usages: _containers.RepeatedScalarFieldContainer[KeyUsage]
    extractable: bool
    sensitive: bool
    never_extractable: bool
    always_sensitive: bool
    modifiable: bool
    destroyable: bool
    local: bool
    not_before_time: _timestamp_pb2.Timestamp
    expire_time: _timestamp_pb2.Timestamp
    state: KeyState
    latest_version: int
    minimum_version: int
    persistent: bool
    create_time: _timestamp_pb2.Timestamp
    public_key: PublicKey
    policy: KeyPolicy
    application_id: bytes
    subject: bytes
    def __init__(self, id: _Optional[str] = ..., label: _Optional[str] = ..., algorithm: _Optional[_Union[KeyAlgorithm, str]] = ..., usages: _Optional[_Iterable[_Union[KeyUsage, str]]] = ..., extractable: _Optional[bool] = ..., sensitive: _Optional[bool] = ..., never_extractable: _Optional[bool] = ..., always_sensitive: _Optional[bool] = ..., modifiable: _Optional[bool] = ..., destroyable: _Optional[bool] = ..., local: _Optional[bool] = ..., not_before_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., expire_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., state: _Optional[_Union[KeyState, str]] = ..., latest_version: _Optional[int] = ..., minimum_version: _Optional[int] = ..., persistent: _Optional[bool] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., public_key: _Optional[_Union[PublicKey, _Mapping]] = ..., policy: _Optional[_Union[KeyPolicy, _Mapping]] = ..., application_id: _Optional[bytes] = ..., subject: _Optional[bytes] = ...) -> None: ...

class ErrorDetail(_message.Message):
    __slots__ = ("code", "message", "pending_request")
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    PENDING_REQUEST_FIELD_NUMBER: _ClassVar[int]
    code: ErrorCode
    message: str
    pending_request: ApprovalRequest
    def __init__(self, code: _Optional[_Union[ErrorCode, str]] = ..., message: _Optional[str] = ..., pending_request: _Optional[_Union[ApprovalRequest, _Mapping]] = ...) -> None: ...

class KeyUsageSet(_message.Message):
    __slots__ = ("usages",)
    USAGES_FIELD_NUMBER: _ClassVar[int]
    usages: _containers.RepeatedScalarFieldContainer[KeyUsage]
    def __init__(self, usages: _Optional[_Iterable[_Union[KeyUsage, str]]] = ...) -> None: ...

class KeyAttributeUpdate(_message.Message):
    __slots__ = ("label", "usages", "extractable", "sensitive", "modifiable", "destroyable", "not_before_time", "expire_time", "minimum_version", "application_id", "subject")
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
    label: str
    usages: KeyUsageSet
    extractable: bool
    sensitive: bool
    modifiable: bool
    destroyable: bool
    not_before_time: _timestamp_pb2.Timestamp
    expire_time: _timestamp_pb2.Timestamp
    minimum_version: int
    application_id: bytes
    subject: bytes
    def __init__(self, label: _Optional[str] = ..., usages: _Optional[_Union[KeyUsageSet, _Mapping]] = ..., extractable: _Optional[bool] = ..., sensitive: _Optional[bool] = ..., modifiable: _Optional[bool] = ..., destroyable: _Optional[bool] = ..., not_before_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., expire_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., minimum_version: _Optional[int] = ..., application_id: _Optional[bytes] = ..., subject: _Optional[bytes] = ...) -> None: ...

class ApprovalOperation(_message.Message):
    __slots__ = ("sign", "decrypt", "mac", "block", "unblock", "update", "set_policy")
    class Sign(_message.Message):
        __slots__ = ("input", "scheme")
        INPUT_FIELD_NUMBER: _ClassVar[int]
        SCHEME_FIELD_NUMBER: _ClassVar[int]
        input: SigningInput
        scheme: SignatureScheme
        def __init__(self, input: _Optional[_Union[SigningInput, _Mapping]] = ..., scheme: _Optional[_Union[SignatureScheme, _Mapping]] = ...) -> None: ...
    class Decrypt(_message.Message):
        __slots__ = ("ciphertext", "scheme", "aad")
        CIPHERTEXT_FIELD_NUMBER: _ClassVar[int]
        SCHEME_FIELD_NUMBER: _ClassVar[int]
        AAD_FIELD_NUMBER: _ClassVar[int]
        ciphertext: bytes
        scheme: EncryptionScheme
        aad: bytes
        def __init__(self, ciphertext: _Optional[bytes] = ..., scheme: _Optional[_Union[EncryptionScheme, str]] = ..., aad: _Optional[bytes] = ...) -> None: ...
    class Mac(_message.Message):
        __slots__ = ("data", "hash")
        DATA_FIELD_NUMBER: _ClassVar[int]
        HASH_FIELD_NUMBER: _ClassVar[int]
        data: bytes
        hash: HashAlgorithm
        def __init__(self, data: _Optional[bytes] = ..., hash: _Optional[_Union[HashAlgorithm, str]] = ...) -> None: ...
    class Block(_message.Message):
        __slots__ = ()
        def __init__(self) -> None: ...
    class Unblock(_message.Message):
        __slots__ = ()
        def __init__(self) -> None: ...
    SIGN_FIELD_NUMBER: _ClassVar[int]
    DECRYPT_FIELD_NUMBER: _ClassVar[int]
    MAC_FIELD_NUMBER: _ClassVar[int]
    BLOCK_FIELD_NUMBER: _ClassVar[int]
    UNBLOCK_FIELD_NUMBER: _ClassVar[int]
    UPDATE_FIELD_NUMBER: _ClassVar[int]
    SET_POLICY_FIELD_NUMBER: _ClassVar[int]
    sign: ApprovalOperation.Sign
    decrypt: ApprovalOperation.Decrypt
    mac: ApprovalOperation.Mac
    block: ApprovalOperation.Block
    unblock: ApprovalOperation.Unblock
    update: KeyAttributeUpdate
    set_policy: KeyPolicy
    def __init__(self, sign: _Optional[_Union[ApprovalOperation.Sign, _Mapping]] = ..., decrypt: _Optional[_Union[ApprovalOperation.Decrypt, _Mapping]] = ..., mac: _Optional[_Union[ApprovalOperation.Mac, _Mapping]] = ..., block: _Optional[_Union[ApprovalOperation.Block, _Mapping]] = ..., unblock: _Optional[_Union[ApprovalOperation.Unblock, _Mapping]] = ..., update: _Optional[_Union[KeyAttributeUpdate, _Mapping]] = ..., set_policy: _Optional[_Union[KeyPolicy, _Mapping]] = ...) -> None: ...

class ApprovalDecision(_message.Message):
    __slots__ = ("approver", "approve", "time")
    APPROVER_FIELD_NUMBER: _ClassVar[int]
    APPROVE_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    approver: str
    approve: bool
    time: _timestamp_pb2.Timestamp
    def __init__(self, approver: _Optional[str] = ..., approve: _Optional[bool] = ..., time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ApprovalRequest(_message.Message):
    __slots__ = ("id", "key_id", "operation", "operation_digest", "requester", "create_time", "status", "rule", "decisions", "executable_time", "finish_time", "result", "result_version", "failure", "approve_challenge", "reject_challenge", "partition")
    ID_FIELD_NUMBER: _ClassVar[int]
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    OPERATION_FIELD_NUMBER: _ClassVar[int]
    OPERATION_DIGEST_FIELD_NUMBER: _ClassVar[int]
    REQUESTER_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    RULE_FIELD_NUMBER: _ClassVar[int]
    DECISIONS_FIELD_NUMBER: _ClassVar[int]
    EXECUTABLE_TIME_FIELD_NUMBER: _ClassVar[int]
    FINISH_TIME_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    RESULT_VERSION_FIELD_NUMBER: _ClassVar[int]
    FAILURE_FIELD_NUMBER: _ClassVar[int]
    APPROVE_CHALLENGE_FIELD_NUMBER: _ClassVar[int]
    REJECT_CHALLENGE_FIELD_NUMBER: _ClassVar[int]
    PARTITION_FIELD_NUMBER: _ClassVar[int]
    id: str
    key_id: str
    operation: ApprovalOperation
    operation_digest: bytes
    requester: str
    create_time: _timestamp_pb2.Timestamp
    status: ApprovalStatus
    rule: ApprovalRule
    decisions: _containers.RepeatedCompositeFieldContainer[ApprovalDecision]
    executable_time: _timestamp_pb2.Timestamp
    finish_time: _timestamp_pb2.Timestamp
    result: bytes
    result_version: int
    failure: str
    approve_challenge: bytes
    reject_challenge: bytes
    partition: str
    def __init__(self, id: _Optional[str] = ..., key_id: _Optional[str] = ..., operation: _Optional[_Union[ApprovalOperation, _Mapping]] = ..., operation_digest: _Optional[bytes] = ..., requester: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., status: _Optional[_Union[ApprovalStatus, str]] = ..., rule: _Optional[_Union[ApprovalRule, _Mapping]] = ..., decisions: _Optional[_Iterable[_Union[ApprovalDecision, _Mapping]]] = ..., executable_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., finish_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., result: _Optional[bytes] = ..., result_version: _Optional[int] = ..., failure: _Optional[str] = ..., approve_challenge: _Optional[bytes] = ..., reject_challenge: _Optional[bytes] = ..., partition: _Optional[str] = ...) -> None: ...
