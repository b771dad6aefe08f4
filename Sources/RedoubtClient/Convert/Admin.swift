import Foundation
import RedoubtCore
import RedoubtProto
import SwiftProtobuf

// Sessions, partitions, users, audit records and backups, both directions.

extension SessionInfo {
    /// The session of an OpenSessionResponse.
    package init(proto p: Redoubt_V1_OpenSessionResponse, at path: FieldPath = .root) throws {
        self.init(
            token: SessionToken(p.token), id: p.sessionID, partition: p.partitionID, user: p.userID,
            role: try Role.protoMapping.model(p.role, at: path + "role"),
            expiresAt: try p.expireTime.date(at: path + "expire_time"),
            idleTimeout: try p.idleTimeout.timeInterval(at: path + "idle_timeout"))
    }

    /// The OpenSessionResponse.
    package var proto: Redoubt_V1_OpenSessionResponse {
        var p = Redoubt_V1_OpenSessionResponse()
        p.token = token.value
        p.sessionID = id
        p.partitionID = partition
        p.userID = user
        p.role = Role.protoMapping.proto(role)
        p.expireTime = Google_Protobuf_Timestamp(expiresAt)
        p.idleTimeout = Google_Protobuf_Duration(idleTimeout)
        return p
    }
}

extension PartitionSettings {
    /// The settings of a request over `base`: unset fields keep `base`'s value (the defaults
    /// when creating, the current settings when updating). The HSM checks the ranges.
    package init(proto p: Redoubt_V1_PartitionSettings, over base: PartitionSettings, at path: FieldPath) throws {
        self = base
        if p.hasImportAllowed { importAllowed = p.importAllowed }
        if p.hasExportAllowed { exportAllowed = p.exportAllowed }
        if p.hasReadOnly { readOnly = p.readOnly }
        if p.hasMaximumObjects {
            guard let value = Int(exactly: p.maximumObjects), value >= 0 else {
                throw (path + "maximum_objects").invalid("is \(p.maximumObjects); send 0 to 10000000")
            }
            maximumObjects = value
        }
        if p.hasCryptoUsersMayCreateKeys { cryptoUsersMayCreateKeys = p.cryptoUsersMayCreateKeys }
        if p.hasMaximumSessionLifetime {
            maximumSessionLifetime = try p.maximumSessionLifetime.timeInterval(at: path + "maximum_session_lifetime")
        }
        if p.hasSessionIdleTimeout {
            sessionIdleTimeout = try p.sessionIdleTimeout.timeInterval(at: path + "session_idle_timeout")
        }
        if p.hasAllowedSources { allowedSources = p.allowedSources.cidrs }
        keyUseAudit = try KeyUseAudit.protoMapping.model(p.keyUseAudit, at: path + "key_use_audit", default: keyUseAudit)
    }

    /// The proto settings, every field set.
    package var proto: Redoubt_V1_PartitionSettings {
        var p = Redoubt_V1_PartitionSettings()
        p.importAllowed = importAllowed
        p.exportAllowed = exportAllowed
        p.readOnly = readOnly
        p.maximumObjects = Int64(maximumObjects)
        p.cryptoUsersMayCreateKeys = cryptoUsersMayCreateKeys
        p.maximumSessionLifetime = Google_Protobuf_Duration(maximumSessionLifetime)
        p.sessionIdleTimeout = Google_Protobuf_Duration(sessionIdleTimeout)
        var sources = Redoubt_V1_SourceRestriction()
        sources.cidrs = allowedSources
        p.allowedSources = sources
        p.keyUseAudit = KeyUseAudit.protoMapping.proto(keyUseAudit)
        return p
    }
}

extension PartitionInfo {
    /// A partition of a response (its settings complete, missing fields taking the defaults).
    package init(proto p: Redoubt_V1_PartitionInfo, at path: FieldPath) throws {
        self.init(
            id: p.id, settings: try PartitionSettings(proto: p.settings, over: .defaults, at: path + "settings"),
            createdAt: try p.createTime.date(at: path + "create_time"))
    }

    /// The proto partition.
    package var proto: Redoubt_V1_PartitionInfo {
        var p = Redoubt_V1_PartitionInfo()
        p.id = id
        p.settings = settings.proto
        p.createTime = Google_Protobuf_Timestamp(createdAt)
        return p
    }
}

extension UserInfo {
    /// A user of a response.
    package init(proto p: Redoubt_V1_UserInfo, at path: FieldPath) throws {
        self.init(
            id: p.id, name: p.name, role: try Role.protoMapping.model(p.role, at: path + "role"),
            partition: p.partitionID, hasPassword: p.hasPassword_p, hasClientCertificate: p.hasClientCertificate_p)
    }

    /// The proto user.
    package var proto: Redoubt_V1_UserInfo {
        var p = Redoubt_V1_UserInfo()
        p.id = id
        p.name = name
        p.role = Role.protoMapping.proto(role)
        p.partitionID = partition
        p.hasPassword_p = hasPassword
        p.hasClientCertificate_p = hasClientCertificate
        return p
    }
}

extension CreatedPartition {
    /// The partition of a CreatePartitionResponse.
    package init(proto p: Redoubt_V1_CreatePartitionResponse, at path: FieldPath = .root) throws {
        self.init(
            partition: try PartitionInfo(proto: p.partition, at: path + "partition"),
            securityOfficer: try UserInfo(proto: p.securityOfficer, at: path + "security_officer"),
            securityOfficerAPIKey: p.securityOfficerApiKey)
    }

    /// The CreatePartitionResponse.
    package var proto: Redoubt_V1_CreatePartitionResponse {
        var p = Redoubt_V1_CreatePartitionResponse()
        p.partition = partition.proto
        p.securityOfficer = securityOfficer.proto
        p.securityOfficerApiKey = securityOfficerAPIKey
        return p
    }
}

extension NewUser {
    /// The user of an AddUserResponse.
    package init(proto p: Redoubt_V1_AddUserResponse, at path: FieldPath = .root) throws {
        self.init(user: try UserInfo(proto: p.user, at: path + "user"), apiKey: p.apiKey)
    }

    /// The AddUserResponse.
    package var proto: Redoubt_V1_AddUserResponse {
        var p = Redoubt_V1_AddUserResponse()
        p.user = user.proto
        p.apiKey = apiKey
        return p
    }
}

extension AuditRecord {
    /// A record of a response.
    package init(proto p: Redoubt_V1_AuditRecord, at path: FieldPath) throws {
        self.init(
            sequence: p.sequence, time: try p.time.date(at: path + "time"), actor: p.actor, role: p.role,
            session: p.sessionID, operation: p.operation, object: p.object, result: p.result,
            count: try Self.count(p.count, at: path + "count"),
            firstTime: p.hasFirstTime ? try p.firstTime.date(at: path + "first_time") : nil)
    }

    /// A record's count: 0 (a server before aggregation) is 1.
    private static func count(_ value: Int64, at path: FieldPath) throws -> Int {
        guard value >= 0, let count = Int(exactly: value) else { throw path.invalid("is \(value); a count is 0 or more") }
        return max(count, 1)
    }

    /// The proto record.
    package var proto: Redoubt_V1_AuditRecord {
        var p = Redoubt_V1_AuditRecord()
        p.sequence = sequence
        p.time = Google_Protobuf_Timestamp(time)
        p.actor = actor
        p.role = role
        p.sessionID = session
        p.operation = operation
        p.object = object
        p.result = result
        p.count = Int64(count)
        if let firstTime { p.firstTime = Google_Protobuf_Timestamp(firstTime) }
        return p
    }
}

extension AuditVerification {
    /// The outcome of a VerifyAuditResponse (an invalid chain without a reason gets one).
    package init(proto p: Redoubt_V1_VerifyAuditResponse) {
        self.init(
            records: p.recordsChecked,
            failure: p.valid ? nil : (p.failure.isEmpty ? "the chain is broken" : p.failure),
            anchoredThrough: p.anchoredThrough)
    }

    /// The VerifyAuditResponse.
    package var proto: Redoubt_V1_VerifyAuditResponse {
        var p = Redoubt_V1_VerifyAuditResponse()
        p.recordsChecked = records
        p.valid = isValid
        p.failure = failure ?? ""
        p.anchoredThrough = anchoredThrough
        return p
    }
}

extension AuditCheckpoint {
    /// A checkpoint of a request or response, refusing fields of the wrong size.
    package init(proto p: Redoubt_V1_AuditCheckpoint, at path: FieldPath) throws {
        guard p.sequence >= 0 else { throw (path + "sequence").invalid("is \(p.sequence); send 0 or more") }
        guard p.signedFrom >= 1 else { throw (path + "signed_from").invalid("is \(p.signedFrom); send 1 or more") }
        guard p.hash.count == 32 else { throw (path + "hash").invalid("is \(p.hash.count) bytes; it must be 32") }
        guard p.publicKey.count == 32 else {
            throw (path + "public_key").invalid("is \(p.publicKey.count) bytes; it must be 32 (a raw Ed25519 key)")
        }
        guard p.signature.count == 64 else {
            throw (path + "signature").invalid("is \(p.signature.count) bytes; it must be 64 (an Ed25519 signature)")
        }
        try (path + "partition").checkSize(p.partition, limit: 256)
        self.init(
            partition: p.partition, sequence: p.sequence, hash: p.hash, time: try p.time.date(at: path + "time"),
            signedFrom: p.signedFrom, publicKey: p.publicKey, signature: p.signature)
    }

    /// The proto checkpoint.
    package var proto: Redoubt_V1_AuditCheckpoint {
        var p = Redoubt_V1_AuditCheckpoint()
        p.partition = partition
        p.sequence = sequence
        p.hash = hash
        p.time = Google_Protobuf_Timestamp(time)
        p.signedFrom = signedFrom
        p.publicKey = publicKey
        p.signature = signature
        return p
    }
}

extension BackupProgress {
    /// The progress of a CreateBackupResponse.
    package init(proto p: Redoubt_V1_BackupProgress, at path: FieldPath) throws {
        self.init(
            phase: try BackupProgress.Phase.protoMapping.model(p.phase, at: path + "phase"),
            recordsDone: Int(clamping: p.recordsDone),
            recordsTotal: p.hasRecordsTotal ? Int(clamping: p.recordsTotal) : nil,
            bytesDone: p.bytesDone, bytesTotal: p.hasBytesTotal ? p.bytesTotal : nil)
    }

    /// The proto progress.
    package var proto: Redoubt_V1_BackupProgress {
        var p = Redoubt_V1_BackupProgress()
        p.phase = BackupProgress.Phase.protoMapping.proto(phase)
        p.recordsDone = Int64(recordsDone)
        if let recordsTotal { p.recordsTotal = Int64(recordsTotal) }
        p.bytesDone = bytesDone
        if let bytesTotal { p.bytesTotal = bytesTotal }
        return p
    }
}

extension BackupReport {
    /// The report of a BackupSummary.
    package init(proto p: Redoubt_V1_BackupSummary, at path: FieldPath) throws {
        self.init(
            path: p.path, formatVersion: Int(p.formatVersion), createdAt: try p.createTime.date(at: path + "create_time"),
            partition: p.partitionID.isEmpty ? nil : p.partitionID, masterKeyID: p.masterKeyID,
            recordCount: p.recordCount, chunkCount: p.chunkCount, byteCount: p.sizeBytes)
    }

    /// The proto summary.
    package var proto: Redoubt_V1_BackupSummary {
        var p = Redoubt_V1_BackupSummary()
        p.path = path
        p.formatVersion = UInt32(clamping: formatVersion)
        p.createTime = Google_Protobuf_Timestamp(createdAt)
        p.partitionID = partition ?? ""
        p.masterKeyID = masterKeyID
        p.recordCount = recordCount
        p.chunkCount = chunkCount
        p.sizeBytes = byteCount
        return p
    }
}
