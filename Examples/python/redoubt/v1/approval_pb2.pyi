import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from redoubt.v1 import common_pb2 as _common_pb2
from redoubt.v1 import key_pb2 as _key_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ApprovalStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    APPROVAL_STATUS_UNSPECIFIED: _ClassVar[ApprovalStatus]
    APPROVAL_STATUS_PENDING: _ClassVar[ApprovalStatus]
    APPROVAL_STATUS_APPROVED: _ClassVar[ApprovalStatus]
    APPROVAL_STATUS_EXECUTED: _ClassVar[ApprovalStatus]
    APPROVAL_STATUS_REJECTED: _ClassVar[ApprovalStatus]
    APPROVAL_STATUS_EXPIRED: _ClassVar[ApprovalStatus]
    APPROVAL_STATUS_FAILED: _ClassVar[ApprovalStatus]
APPROVAL_STATUS_UNSPECIFIED: ApprovalStatus
APPROVAL_STATUS_PENDING: ApprovalStatus
APPROVAL_STATUS_APPROVED: ApprovalStatus
APPROVAL_STATUS_EXECUTED: ApprovalStatus
APPROVAL_STATUS_REJECTED: ApprovalStatus
APPROVAL_STATUS_EXPIRED: ApprovalStatus
APPROVAL_STATUS_FAILED: ApprovalStatus

class Approver(_message.Message):
    __slots__ = ("name", "public_key")
    NAME_FIELD_NUMBER: _ClassVar[int]
    PUBLIC_KEY_FIELD_NUMBER: _ClassVar[int]
    name: str
    public_key: _common_pb2.PublicKey
    def __init__(self, name: _Optional[str] = ..., public_key: _Optional[_Union[_common_pb2.PublicKey, _Mapping]] = ...) -> None: ...

class RegisterApproverRequest(_message.Message):
    __slots__ = ("approver",)
    APPROVER_FIELD_NUMBER: _ClassVar[int]
    approver: Approver
    def __init__(self, approver: _Optional[_Union[Approver, _Mapping]] = ...) -> None: ...

class RegisterApproverResponse(_message.Message):
    __slots__ = ("approver",)
    APPROVER_FIELD_NUMBER: _ClassVar[int]
    approver: Approver
    def __init__(self, approver: _Optional[_Union[Approver, _Mapping]] = ...) -> None: ...

class ListApproversRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListApproversResponse(_message.Message):
    __slots__ = ("approvers",)
    APPROVERS_FIELD_NUMBER: _ClassVar[int]
    approvers: _containers.RepeatedCompositeFieldContainer[Approver]
    def __init__(self, approvers: _Optional[_Iterable[_Union[Approver, _Mapping]]] = ...) -> None: ...

class RemoveApproverRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class RemoveApproverResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class KeyAttributeUpdate(_message.Message):
    __slots__ = ("label", "usages", "extractable", "sensitive", "modifiable", "destroyable", "not_before_time", "expire_time", "minimum_version")
    LABEL_FIELD_NUMBER: _ClassVar[int]
    USAGES_FIELD_NUMBER: _ClassVar[int]
    EXTRACTABLE_FIELD_NUMBER: _ClassVar[int]
    SENSITIVE_FIELD_NUMBER: _ClassVar[int]
    MODIFIABLE_FIELD_NUMBER: _ClassVar[int]
    DESTROYABLE_FIELD_NUMBER: _ClassVar[int]
    NOT_BEFORE_TIME_FIELD_NUMBER: _ClassVar[int]
    EXPIRE_TIME_FIELD_NUMBER: _ClassVar[int]
    MINIMUM_VERSION_FIELD_NUMBER: _ClassVar[int]
    label: str
    usages: _key_pb2.KeyUsageSet
    extractable: bool
    sensitive: bool
    modifiable: bool
    destroyable: bool
    not_before_time: _timestamp_pb2.Timestamp
    expire_time: _timestamp_pb2.Timestamp
    minimum_version: int
    def __init__(self, label: _Optional[str] = ..., usages: _Optional[_Union[_key_pb2.KeyUsageSet, _Mapping]] = ..., extractable: _Optional[bool] = ..., sensitive: _Optional[bool] = ..., modifiable: _Optional[bool] = ..., destroyable: _Optional[bool] = ..., not_before_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., expire_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., minimum_version: _Optional[int] = ...) -> None: ...

class ApprovalOperation(_message.Message):
    __slots__ = ("sign", "decrypt", "mac", "block", "unblock", "update", "set_policy")
    class Sign(_message.Message):
        __slots__ = ("input", "scheme")
        INPUT_FIELD_NUMBER: _ClassVar[int]
        SCHEME_FIELD_NUMBER: _ClassVar[int]
        input: _common_pb2.SigningInput
        scheme: _common_pb2.SignatureScheme
        def __init__(self, input: _Optional[_Union[_common_pb2.SigningInput, _Mapping]] = ..., scheme: _Optional[_Union[_common_pb2.SignatureScheme, _Mapping]] = ...) -> None: ...
    class Decrypt(_message.Message):
        __slots__ = ("ciphertext", "scheme", "aad")
        CIPHERTEXT_FIELD_NUMBER: _ClassVar[int]
        SCHEME_FIELD_NUMBER: _ClassVar[int]
        AAD_FIELD_NUMBER: _ClassVar[int]
        ciphertext: bytes
        scheme: _common_pb2.EncryptionScheme
        aad: bytes
        def __init__(self, ciphertext: _Optional[bytes] = ..., scheme: _Optional[_Union[_common_pb2.EncryptionScheme, str]] = ..., aad: _Optional[bytes] = ...) -> None: ...
    class Mac(_message.Message):
        __slots__ = ("data", "hash")
        DATA_FIELD_NUMBER: _ClassVar[int]
        HASH_FIELD_NUMBER: _ClassVar[int]
        data: bytes
        hash: _common_pb2.HashAlgorithm
        def __init__(self, data: _Optional[bytes] = ..., hash: _Optional[_Union[_common_pb2.HashAlgorithm, str]] = ...) -> None: ...
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
    set_policy: _common_pb2.KeyPolicy
    def __init__(self, sign: _Optional[_Union[ApprovalOperation.Sign, _Mapping]] = ..., decrypt: _Optional[_Union[ApprovalOperation.Decrypt, _Mapping]] = ..., mac: _Optional[_Union[ApprovalOperation.Mac, _Mapping]] = ..., block: _Optional[_Union[ApprovalOperation.Block, _Mapping]] = ..., unblock: _Optional[_Union[ApprovalOperation.Unblock, _Mapping]] = ..., update: _Optional[_Union[KeyAttributeUpdate, _Mapping]] = ..., set_policy: _Optional[_Union[_common_pb2.KeyPolicy, _Mapping]] = ...) -> None: ...

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
    rule: _common_pb2.ApprovalRule
    decisions: _containers.RepeatedCompositeFieldContainer[ApprovalDecision]
    executable_time: _timestamp_pb2.Timestamp
    finish_time: _timestamp_pb2.Timestamp
    result: bytes
    result_version: int
    failure: str
    approve_challenge: bytes
    reject_challenge: bytes
    partition: str
    def __init__(self, id: _Optional[str] = ..., key_id: _Optional[str] = ..., operation: _Optional[_Union[ApprovalOperation, _Mapping]] = ..., operation_digest: _Optional[bytes] = ..., requester: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., status: _Optional[_Union[ApprovalStatus, str]] = ..., rule: _Optional[_Union[_common_pb2.ApprovalRule, _Mapping]] = ..., decisions: _Optional[_Iterable[_Union[ApprovalDecision, _Mapping]]] = ..., executable_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., finish_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., result: _Optional[bytes] = ..., result_version: _Optional[int] = ..., failure: _Optional[str] = ..., approve_challenge: _Optional[bytes] = ..., reject_challenge: _Optional[bytes] = ..., partition: _Optional[str] = ...) -> None: ...

class SubmitRequestRequest(_message.Message):
    __slots__ = ("key_id", "operation")
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    OPERATION_FIELD_NUMBER: _ClassVar[int]
    key_id: str
    operation: ApprovalOperation
    def __init__(self, key_id: _Optional[str] = ..., operation: _Optional[_Union[ApprovalOperation, _Mapping]] = ...) -> None: ...

class SubmitRequestResponse(_message.Message):
    __slots__ = ("request",)
    REQUEST_FIELD_NUMBER: _ClassVar[int]
    request: ApprovalRequest
    def __init__(self, request: _Optional[_Union[ApprovalRequest, _Mapping]] = ...) -> None: ...

class GetRequestRequest(_message.Message):
    __slots__ = ("request_id",)
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    def __init__(self, request_id: _Optional[str] = ...) -> None: ...

class GetRequestResponse(_message.Message):
    __slots__ = ("request",)
    REQUEST_FIELD_NUMBER: _ClassVar[int]
    request: ApprovalRequest
    def __init__(self, request: _Optional[_Union[ApprovalRequest, _Mapping]] = ...) -> None: ...

class ListRequestsRequest(_message.Message):
    __slots__ = ("status", "key_id", "page_token", "limit")
    STATUS_FIELD_NUMBER: _ClassVar[int]
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    status: ApprovalStatus
    key_id: str
    page_token: str
    limit: int
    def __init__(self, status: _Optional[_Union[ApprovalStatus, str]] = ..., key_id: _Optional[str] = ..., page_token: _Optional[str] = ..., limit: _Optional[int] = ...) -> None: ...

class ListRequestsResponse(_message.Message):
    __slots__ = ("requests", "next_page_token")
    REQUESTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    requests: _containers.RepeatedCompositeFieldContainer[ApprovalRequest]
    next_page_token: str
    def __init__(self, requests: _Optional[_Iterable[_Union[ApprovalRequest, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class DecideRequestRequest(_message.Message):
    __slots__ = ("request_id", "approver", "signature")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    APPROVER_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    approver: str
    signature: bytes
    def __init__(self, request_id: _Optional[str] = ..., approver: _Optional[str] = ..., signature: _Optional[bytes] = ...) -> None: ...

class DecideRequestResponse(_message.Message):
    __slots__ = ("request",)
    REQUEST_FIELD_NUMBER: _ClassVar[int]
    request: ApprovalRequest
    def __init__(self, request: _Optional[_Union[ApprovalRequest, _Mapping]] = ...) -> None: ...
