import Foundation
import GRPCCore
import Redoubt
import RedoubtClient
import RedoubtProto

/// Where backups go, and how a request's path is checked there.
struct BackupTarget: Sendable {
    let destination: BackupDestination

    /// The path to hand to the HSM: with a ``BackupDestination/directory(_:)``, the file `path`
    /// names inside it (relative, without `..`, not escaping the folder through a symbolic
    /// link); for ``BackupDestination/nodes`` the same checks of the text, and the path as given
    /// (the node resolves it). INVALID_ARGUMENT otherwise. Sub-folders must exist (the broker
    /// creates none: the caller is not yet authorized here).
    func resolve(_ path: String, at field: FieldPath) throws -> String {
        guard !path.hasPrefix("/"), !path.hasPrefix("~") else {
            throw field.invalid("is absolute; send a path relative to the server's backup folder")
        }
        guard !path.contains("\0"), !path.contains("\\") else { throw field.invalid("contains a NUL or backslash character") }
        let components = path.split(separator: "/", omittingEmptySubsequences: true)
        guard !components.isEmpty, !components.contains(where: { $0 == ".." }) else {
            throw field.invalid("must stay inside the server's backup folder (no `..`)")
        }
        guard let last = components.last, last != "." else { throw field.invalid("does not name a file") }
        guard case .directory(let directory) = destination else { return path }
        let root = directory.standardizedFileURL.resolvingSymlinksInPath()
        let file = components.reduce(root) { $0.appendingPathComponent(String($1)) }
        let parent = file.deletingLastPathComponent().resolvingSymlinksInPath()
        let rootPath = root.path.hasSuffix("/") ? root.path : root.path + "/"
        guard parent.path == root.path || (parent.path + "/").hasPrefix(rootPath) else {
            throw field.invalid("must stay inside the server's backup folder")
        }
        return parent.appendingPathComponent(file.lastPathComponent).path
    }
}

/// `redoubt.v1.BackupService`: backups written on the server, with streamed progress.
struct BackupService: Redoubt_V1_BackupService.ServiceProtocol {
    /// The shared handler state.
    let core: BrokerCore
    /// Where backups go; `nil`: UNIMPLEMENTED.
    let target: BackupTarget?

    func createBackup(
        request: ServerRequest<Redoubt_V1_CreateBackupRequest>,
        context: ServerContext
    ) async throws -> StreamingServerResponse<Redoubt_V1_CreateBackupResponse> {
        let job: BackupJob = try await core.run(context, metadata: request.metadata) {
            guard let target else { throw RPCError(code: .unimplemented, message: "backups are not available on this broker") }
            let token = try BrokerCore.sessionToken(request.metadata)
            let (path, partition, overwrite) = try request.message.decoded()
            return BackupJob(
                token: token, path: try target.resolve(path, at: .root + "path"),
                partition: partition, overwrite: overwrite)
        }
        return StreamingServerResponse { writer in
            try await core.run(context, metadata: request.metadata) {
                let (progress, sink) = AsyncStream.makeStream(of: BackupProgress.self, bufferingPolicy: .bufferingNewest(16))
                try await withThrowingTaskGroup(of: BackupReport.self) { group in
                    group.addTask {
                        defer { sink.finish() }
                        return try await core.hsm.createBackup(job.token, path: job.path, partition: job.partition, overwrite: job.overwrite) {
                            sink.yield($0)
                        }
                    }
                    for await step in progress {
                        try await writer.write(Redoubt_V1_CreateBackupResponse(step))
                    }
                    guard let report = try await group.next() else { throw CancellationError() }
                    try await writer.write(Redoubt_V1_CreateBackupResponse(report))
                }
            }
            return [:]
        }
    }
}

/// One CreateBackup call, checked and resolved.
private struct BackupJob: Sendable {
    let token: SessionToken
    let path: String
    let partition: String?
    let overwrite: Bool
}
