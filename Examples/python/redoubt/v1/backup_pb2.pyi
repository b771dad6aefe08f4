import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class BackupPhase(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    BACKUP_PHASE_UNSPECIFIED: _ClassVar[BackupPhase]
    BACKUP_PHASE_EXPORTING: _ClassVar[BackupPhase]
    BACKUP_PHASE_WRITING: _ClassVar[BackupPhase]
BACKUP_PHASE_UNSPECIFIED: BackupPhase
BACKUP_PHASE_EXPORTING: BackupPhase
BACKUP_PHASE_WRITING: BackupPhase

class CreateBackupRequest(_message.Message):
    __slots__ = ("path", "partition_id", "overwrite")
    PATH_FIELD_NUMBER: _ClassVar[int]
    PARTITION_ID_FIELD_NUMBER: _ClassVar[int]
    OVERWRITE_FIELD_NUMBER: _ClassVar[int]
    path: str
    partition_id: str
    overwrite: bool
    def __init__(self, path: _Optional[str] = ..., partition_id: _Optional[str] = ..., overwrite: _Optional[bool] = ...) -> None: ...

class CreateBackupResponse(_message.Message):
    __slots__ = ("progress", "summary")
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    progress: BackupProgress
    summary: BackupSummary
    def __init__(self, progress: _Optional[_Union[BackupProgress, _Mapping]] = ..., summary: _Optional[_Union[BackupSummary, _Mapping]] = ...) -> None: ...

class BackupProgress(_message.Message):
    __slots__ = ("phase", "records_done", "records_total", "bytes_done", "bytes_total")
    PHASE_FIELD_NUMBER: _ClassVar[int]
    RECORDS_DONE_FIELD_NUMBER: _ClassVar[int]
    RECORDS_TOTAL_FIELD_NUMBER: _ClassVar[int]
    BYTES_DONE_FIELD_NUMBER: _ClassVar[int]
    BYTES_TOTAL_FIELD_NUMBER: _ClassVar[int]
    phase: BackupPhase
    records_done: int
    records_total: int
    bytes_done: int
    bytes_total: int
    def __init__(self, phase: _Optional[_Union[BackupPhase, str]] = ..., records_done: _Optional[int] = ..., records_total: _Optional[int] = ..., bytes_done: _Optional[int] = ..., bytes_total: _Optional[int] = ...) -> None: ...

class BackupSummary(_message.Message):
    __slots__ = ("path", "format_version", "create_time", "partition_id", "master_key_id", "record_count", "chunk_count", "size_bytes")
    PATH_FIELD_NUMBER: _ClassVar[int]
    FORMAT_VERSION_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    PARTITION_ID_FIELD_NUMBER: _ClassVar[int]
    MASTER_KEY_ID_FIELD_NUMBER: _ClassVar[int]
    RECORD_COUNT_FIELD_NUMBER: _ClassVar[int]
    CHUNK_COUNT_FIELD_NUMBER: _ClassVar[int]
    SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
    path: str
    format_version: int
    create_time: _timestamp_pb2.Timestamp
    partition_id: str
    master_key_id: str
    record_count: int
    chunk_count: int
    size_bytes: int
    def __init__(self, path: _Optional[str] = ..., format_version: _Optional[int] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., partition_id: _Optional[str] = ..., master_key_id: _Optional[str] = ..., record_count: _Optional[int] = ..., chunk_count: _Optional[int] = ..., size_bytes: _Optional[int] = ...) -> None: ...
