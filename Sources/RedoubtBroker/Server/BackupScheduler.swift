import Foundation
import Logging
import ServiceLifecycle
import Redoubt
import RedoubtClient

/// Writes whole-store backups on the node's own authority (``LocalHSM`` is one).
public protocol ScheduledBackupWriter: Sendable {
    /// Writes a backup of the whole store to `path` (a new file).
    func scheduledBackup(to path: String, overwrite: Bool) async throws -> BackupSummary
}

extension LocalHSM: ScheduledBackupWriter {}

/// When and where a broker writes backups by itself: every ``interval`` seconds into
/// ``directory`` (mount the disaster-recovery site there), keeping the newest ``retain`` files.
///
/// In a config file: `"backupSchedule": { "directory": "/mnt/dr/redoubt", "interval": 3600, "retain": 48 }`.
public struct BackupSchedule: Sendable, Codable, Hashable {
    /// The folder backups go to; created (mode 0700) if missing.
    public var directory: String
    /// Seconds between backups (at least 1).
    public var interval: Double
    /// How many scheduled backups to keep (at least 1); older ones are deleted.
    public var retain: Int

    /// A schedule.
    public init(directory: String, interval: Double, retain: Int) {
        self.directory = directory
        self.interval = interval
        self.retain = retain
    }

    /// Checks the schedule is usable; the message names the setting.
    public func validate() throws(BrokerConfigurationError) {
        guard !directory.isEmpty else { throw .init("backupSchedule.directory must name a folder") }
        guard interval >= 1, interval.isFinite else { throw .init("backupSchedule.interval must be at least 1 second") }
        guard (1...100_000).contains(retain) else { throw .init("backupSchedule.retain must be 1 to 100000") }
    }
}

/// Runs a ``BackupSchedule``: writes each backup under a temporary name, renames it into place
/// when complete (so the folder only ever holds whole files), then deletes the oldest beyond
/// ``BackupSchedule/retain``. Each run is recorded in the broker's metrics; a failed run is
/// logged and retried at the next interval, never deleting older backups.
///
/// Files are named `redoubt-YYYYMMDD-HHMMSS-NNNNNN.rdbk` (UTC), so the newest sorts last;
/// ``latest(in:)`` finds it for a restore.
public final class BackupScheduler: Sendable {
    /// The file name prefix and extension of scheduled backups.
    public static let filePrefix = "redoubt-"
    /// The file extension of scheduled backups.
    public static let fileExtension = ".rdbk"

    let writer: any ScheduledBackupWriter
    let schedule: BackupSchedule
    let metrics: BrokerMetrics?
    let logger: Logger
    let clock: any Clock<Duration>
    let date: @Sendable () -> Date

    /// A scheduler; call ``run()`` to start it.
    ///
    /// - Parameters:
    ///   - writer: What writes each backup (a ``LocalHSM``).
    ///   - schedule: Where backups go, how often, and how many are kept.
    ///   - metrics: Where runs are counted and timed, if anywhere.
    ///   - logger: Where runs are logged.
    ///   - clock: The clock it waits out each ``BackupSchedule/interval`` on and times runs with;
    ///     `ContinuousClock` unless a test passes one it moves by hand (`RedoubtTesting.ManualClock`).
    ///   - date: The wall-clock time that names each file and stamps the last run in ``metrics``;
    ///     `Date()` unless a test fixes it.
    public init(
        writer: any ScheduledBackupWriter, schedule: BackupSchedule, metrics: BrokerMetrics?, logger: Logger,
        clock: any Clock<Duration> = ContinuousClock(), date: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.writer = writer
        self.schedule = schedule
        self.metrics = metrics
        self.logger = logger
        self.clock = clock
        self.date = date
    }

    /// Backs up every ``BackupSchedule/interval`` seconds (on its clock) until the task is
    /// cancelled or a graceful shutdown of its service group begins (it is a
    /// swift-service-lifecycle `Service`); a backup already being written is finished first.
    public func run() async {
        let interval = Duration.seconds(schedule.interval)
        let clock = self.clock
        removeLeftovers()
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do { try await cancelWhenGracefulShutdown { try await clock.sleep(for: interval) } } catch { return }
            _ = try? await runOnce()
        }
    }

    /// Writes one backup now and prunes old ones; returns the new file's path.
    @discardableResult
    public func runOnce() async throws -> String {
        let clock = self.clock  // (a local: the existential is opened for a local, not for the property)
        let elapsed = Self.stopwatch(clock)
        do {
            try FileManager.default.createDirectory(
                atPath: schedule.directory, withIntermediateDirectories: true,
                attributes: [.posixPermissions: 0o700])
            let name = Self.fileName(at: date())
            let final = (schedule.directory as NSString).appendingPathComponent(name)
            let partial = (schedule.directory as NSString).appendingPathComponent(".partial-" + name)
            try? FileManager.default.removeItem(atPath: partial)
            let summary: BackupSummary
            do {
                summary = try await writer.scheduledBackup(to: partial, overwrite: false)
                guard rename(partial, final) == 0 else {
                    throw HSMError(.unavailable, "cannot move the finished backup into place in \(schedule.directory)")
                }
            } catch {
                try? FileManager.default.removeItem(atPath: partial)
                throw error
            }
            let pruned = try prune()
            metrics?.recordBackup(ok: true, duration: elapsed(), bytes: summary.byteCount, finishedAt: date())
            logger.info("backup.scheduled", metadata: ["file": "\(name)", "bytes": "\(summary.byteCount)", "pruned": "\(pruned)"])
            return final
        } catch {
            metrics?.recordBackup(ok: false, duration: elapsed(), bytes: 0, finishedAt: date())
            logger.error("backup.scheduled_failed", metadata: ["error": "\(error)"])
            throw error
        }
    }

    /// Starts timing on `clock`: the returned function tells the time since.
    private static func stopwatch<C: Clock<Duration>>(_ clock: C) -> () -> Duration {
        let start = clock.now
        return { start.duration(to: clock.now) }
    }

    /// Removes what backups interrupted by a crash or a kill left in the directory: writers' hidden
    /// files (``Backup/removeLeftovers(in:olderThan:)``), and `.partial-` files of runs that never
    /// moved their file into place (as old as ``Backup/leftoverAge``: a run moves its file within
    /// moments of writing it). Returns the names removed.
    @discardableResult
    func removeLeftovers() -> [String] {
        var removed = Backup.removeLeftovers(in: schedule.directory)
        let now = Date()
        for name in (try? FileManager.default.contentsOfDirectory(atPath: schedule.directory)) ?? [] where name.hasPrefix(".partial-") {
            let path = (schedule.directory as NSString).appendingPathComponent(name)
            guard let modified = (try? FileManager.default.attributesOfItem(atPath: path))?[.modificationDate] as? Date,
                now.timeIntervalSince(modified) >= Backup.leftoverAge
            else { continue }
            if (try? FileManager.default.removeItem(atPath: path)) != nil { removed.append(name) }
        }
        if !removed.isEmpty {
            logger.info("backup.leftovers_removed", metadata: ["files": "\(removed.count)"])
        }
        return removed
    }

    /// Deletes the oldest scheduled backups beyond `retain`; returns how many it deleted.
    func prune() throws -> Int {
        let files = try Self.backups(in: schedule.directory)
        let excess = files.dropLast(schedule.retain)
        for file in excess { try FileManager.default.removeItem(atPath: (schedule.directory as NSString).appendingPathComponent(file)) }
        return excess.count
    }

    /// The scheduled backups in `directory`, oldest first (names only).
    public static func backups(in directory: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory)
            .filter { $0.hasPrefix(filePrefix) && $0.hasSuffix(fileExtension) }
            .sorted()
    }

    /// The path of the newest scheduled backup in `directory`, or `nil` if there is none.
    public static func latest(in directory: String) throws -> String? {
        try backups(in: directory).last.map { (directory as NSString).appendingPathComponent($0) }
    }

    /// `redoubt-YYYYMMDD-HHMMSS-NNNNNN.rdbk` in UTC, with microseconds so names sort by time.
    static func fileName(at date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC") ?? calendar.timeZone
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second, .nanosecond], from: date)
        let micros = (c.nanosecond ?? 0) / 1000
        return filePrefix
            + String(
                format: "%04d%02d%02d-%02d%02d%02d-%06d", c.year ?? 0, c.month ?? 0, c.day ?? 0,
                c.hour ?? 0, c.minute ?? 0, c.second ?? 0, micros) + fileExtension
    }
}

extension BackupScheduler: Service {}
