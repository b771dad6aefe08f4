import Foundation
import RedoubtCore
import RedoubtProto

// Requests and responses of SessionService, PartitionService, UserService, AuditService and
// BackupService.

// MARK: - Sessions

extension Redoubt_V1_OpenSessionRequest {
    /// The request and `authorization` bearer value that open a session with `credential`: an
    /// API key or a JWT travels as the bearer, a password in the message, a client certificate in the
    /// TLS handshake (neither).
    package static func opening(partition: String, credential: Credential) -> (request: Redoubt_V1_OpenSessionRequest, bearer: String?) {
        var request = Redoubt_V1_OpenSessionRequest()
        request.partitionID = partition
        switch credential {
        case .apiKey(let key):
            return (request, key)
        case .password(let user, let password):
            var p = Redoubt_V1_PasswordCredential()
            p.username = user
            p.password = password
            request.password = p
            return (request, nil)
        case .clientCertificate:
            return (request, nil)
        case .jwt(let token):
            return (request, token)
        }
    }

    /// The password credential, if the message carries one. Its user name and length are the
    /// HSM's to judge: a malformed one fails like any wrong credential ("invalid credentials",
    /// no oracle), not with a field-named INVALID_ARGUMENT.
    package func passwordCredential(at path: FieldPath = .root) throws -> Credential? {
        guard hasPassword else { return nil }
        return .password(user: password.username, password: password.password)
    }
}

// MARK: - Partitions

extension Redoubt_V1_CreatePartitionRequest {
    /// The request creating partition `id` with `settings` (every field explicit).
    package init(id: String, settings: PartitionSettings) {
        self.init()
        partitionID = id
        self.settings = settings.proto
    }

    /// The partition id (the HSM judges it, the empty id included, as it judges every new
    /// id) and its settings, unset fields taking the defaults.
    package func decoded(at path: FieldPath = .root) throws -> (id: String, settings: PartitionSettings) {
        (partitionID, try PartitionSettings(proto: settings, over: .defaults, at: path + "settings"))
    }
}

extension Redoubt_V1_UpdatePartitionRequest {
    /// The request setting partition `id`'s settings to `settings` (every field explicit).
    package init(id: String, settings: PartitionSettings) {
        self.init()
        partitionID = id
        self.settings = settings.proto
    }

    /// The partition id.
    package func decodedID(at path: FieldPath = .root) throws -> String {
        try requiredID(partitionID, at: path + "partition_id")
    }

    /// The new settings: the fields set in the request, over `current`.
    package func settings(over current: PartitionSettings, at path: FieldPath = .root) throws -> PartitionSettings {
        try PartitionSettings(proto: settings, over: current, at: path + "settings")
    }
}

extension Redoubt_V1_UpdatePartitionResponse {
    /// The response holding `partition`.
    package init(_ partition: PartitionInfo) {
        self.init()
        self.partition = partition.proto
    }

    /// The partition.
    package func decoded(at path: FieldPath = .root) throws -> PartitionInfo {
        try PartitionInfo(proto: partition, at: path + "partition")
    }
}

/// A page request of a List RPC: at most `size` items after the id `after`.
package struct PageRequest: Sendable, Hashable {
    /// How many items at most (1 to 1000).
    package var size: Int
    /// The last id of the previous page, `nil` for the first page.
    package var after: String?

    /// The page of a request's `page_size` and `page_token`.
    package init(pageSize: Int32, pageToken: String, at path: FieldPath) throws {
        size = try Paging.pageSize(pageSize, at: path + "page_size")
        after = try Paging.lastID(pageToken, at: path + "page_token")
    }
}

/// A List request with `page_size` and `page_token`.
package protocol PagedRequest: Sendable {
    /// Creates an empty request.
    init()
    /// The most items to return; 0 means 100.
    var pageSize: Int32 { get set }
    /// The previous page's next_page_token; empty for the first page.
    var pageToken: String { get set }
}

extension PagedRequest {
    /// The request for a page of `pageSize` after the page whose next_page_token is `pageToken`.
    package init(pageSize: Int, pageToken: String) {
        self.init()
        self.pageSize = Int32(clamping: pageSize)
        self.pageToken = pageToken
    }

    /// The page asked for.
    package func decoded(at path: FieldPath = .root) throws -> PageRequest {
        try PageRequest(pageSize: pageSize, pageToken: pageToken, at: path)
    }
}

extension Redoubt_V1_ListPartitionsRequest: PagedRequest {}
extension Redoubt_V1_ListUsersRequest: PagedRequest {}

extension Redoubt_V1_ListPartitionsResponse {
    /// A page of partitions.
    package init(_ partitions: [PartitionInfo], nextPageToken: String) {
        self.init()
        self.partitions = partitions.map(\.proto)
        self.nextPageToken = nextPageToken
    }

    /// The partitions of the page.
    package func decoded(at path: FieldPath = .root) throws -> [PartitionInfo] {
        try partitions.enumerated().map { try PartitionInfo(proto: $1, at: (path + "partitions")[$0]) }
    }
}

// MARK: - Users

extension Redoubt_V1_AddUserRequest {
    /// The request adding a user.
    package init(name: String, role: Role, password: String?, clientCertificateSHA256: Data?) {
        self.init()
        self.name = name
        self.role = Role.protoMapping.proto(role)
        if let password { self.password = password }
        if let clientCertificateSHA256 { self.clientCertificateSha256 = clientCertificateSHA256 }
    }

    /// The user's name, role, password and certificate fingerprint.
    package func decoded(at path: FieldPath = .root) throws -> (name: String, role: Role, password: String?, clientCertificateSHA256: Data?) {
        guard !name.isEmpty else { throw (path + "name").invalid("is empty; send the new user's name") }
        if hasPassword { try (path + "password").checkSize(password, limit: 1024) }
        if hasClientCertificateSha256 { try (path + "client_certificate_sha256").checkSize(clientCertificateSha256, limit: 64) }
        return (
            name, try Role.protoMapping.model(role, at: path + "role"),
            hasPassword ? password : nil, hasClientCertificateSha256 ? clientCertificateSha256 : nil
        )
    }
}

extension Redoubt_V1_ListUsersResponse {
    /// A page of users.
    package init(_ users: [UserInfo], nextPageToken: String) {
        self.init()
        self.users = users.map(\.proto)
        self.nextPageToken = nextPageToken
    }

    /// The users of the page.
    package func decoded(at path: FieldPath = .root) throws -> [UserInfo] {
        try users.enumerated().map { try UserInfo(proto: $1, at: (path + "users")[$0]) }
    }
}

extension Redoubt_V1_RemoveUserRequest {
    /// The request removing user `id`.
    package init(id: String) {
        self.init()
        userID = id
    }

    /// The user id.
    package func decoded(at path: FieldPath = .root) throws -> String {
        try requiredID(userID, at: path + "user_id")
    }
}

// MARK: - Audit

extension Redoubt_V1_ListAuditRecordsRequest {
    /// The request for at most `limit` records from `sequence` on.
    package init(from sequence: Int64, limit: Int) {
        self.init()
        fromSequence = sequence
        self.limit = Int32(clamping: limit)
    }

    /// The first sequence number (0 and 1 both mean the first record) and the limit (0 means 100).
    package func decoded(at path: FieldPath = .root) throws -> (from: Int64, limit: Int) {
        guard fromSequence >= 0 else { throw (path + "from_sequence").invalid("is \(fromSequence); send 0 or more") }
        return (max(fromSequence, 1), try Paging.pageSize(limit, at: path + "limit"))
    }
}

extension Redoubt_V1_ListAuditRecordsResponse {
    /// The response holding `records`.
    package init(_ records: [AuditRecord]) {
        self.init()
        self.records = records.map(\.proto)
    }

    /// The records.
    package func decoded(at path: FieldPath = .root) throws -> [AuditRecord] {
        try records.enumerated().map { try AuditRecord(proto: $1, at: (path + "records")[$0]) }
    }
}

// MARK: - Backups

extension Redoubt_V1_CreateBackupRequest {
    /// The request writing a backup of `partition` (`nil`: the whole store) to `path` on the server.
    package init(path: String, partition: String?, overwrite: Bool) {
        self.init()
        self.path = path
        partitionID = partition ?? ""
        self.overwrite = overwrite
    }

    /// The path (not yet checked against the server's backup folder), the partition and overwrite.
    package func decoded(at fieldPath: FieldPath = .root) throws -> (path: String, partition: String?, overwrite: Bool) {
        guard !path.isEmpty else { throw (fieldPath + "path").invalid("is empty; name the backup file") }
        try (fieldPath + "path").checkSize(path, limit: 1024)
        return (path, partitionID.isEmpty ? nil : partitionID, overwrite)
    }
}

extension Redoubt_V1_CreateBackupResponse {
    /// A progress message.
    package init(_ progress: BackupProgress) {
        self.init()
        self.progress = progress.proto
    }

    /// The summary message.
    package init(_ report: BackupReport) {
        self.init()
        summary = report.proto
    }
}

// MARK: - Shared

/// A required id field: refuses the empty string, which is what proto3 sends for "unset".
package func requiredID(_ id: String, at path: FieldPath) throws -> String {
    guard !id.isEmpty else { throw path.invalid("is empty; send the id") }
    return id
}
