from redoubt.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

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

class SubmitRequestRequest(_message.Message):
    __slots__ = ("key_id", "operation")
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    OPERATION_FIELD_NUMBER: _ClassVar[int]
    key_id: str
    operation: _common_pb2.ApprovalOperation
    def __init__(self, key_id: _Optional[str] = ..., operation: _Optional[_Union[_common_pb2.ApprovalOperation, _Mapping]] = ...) -> None: ...

class SubmitRequestResponse(_message.Message):
    __slots__ = ("request",)
    REQUEST_FIELD_NUMBER: _ClassVar[int]
    request: _common_pb2.ApprovalRequest
    def __init__(self, request: _Optional[_Union[_common_pb2.ApprovalRequest, _Mapping]] = ...) -> None: ...

class GetRequestRequest(_message.Message):
    __slots__ = ("request_id",)
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    def __init__(self, request_id: _Optional[str] = ...) -> None: ...

class GetRequestResponse(_message.Message):
    __slots__ = ("request",)
    REQUEST_FIELD_NUMBER: _ClassVar[int]
    request: _common_pb2.ApprovalRequest
    def __init__(self, request: _Optional[_Union[_common_pb2.ApprovalRequest, _Mapping]] = ...) -> None: ...

class ListRequestsRequest(_message.Message):
    __slots__ = ("status", "key_id", "page_token", "limit")
    STATUS_FIELD_NUMBER: _ClassVar[int]
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    status: _common_pb2.ApprovalStatus
    key_id: str
    page_token: str
    limit: int
    def __init__(self, status: _Optional[_Union[_common_pb2.ApprovalStatus, str]] = ..., key_id: _Optional[str] = ..., page_token: _Optional[str] = ..., limit: _Optional[int] = ...) -> None: ...

class ListRequestsResponse(_message.Message):
    __slots__ = ("requests", "next_page_token")
    REQUESTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    requests: _containers.RepeatedCompositeFieldContainer[_common_pb2.ApprovalRequest]
    next_page_token: str
    def __init__(self, requests: _Optional[_Iterable[_Union[_common_pb2.ApprovalRequest, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

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
    request: _common_pb2.ApprovalRequest
    def __init__(self, request: _Optional[_Union[_common_pb2.ApprovalRequest, _Mapping]] = ...) -> None: ...
