internal import PostgresNIO

/// Follows `NOTIFY redoubt_changes` on one pooled connection and keeps the
/// core's cached change counter current.
///
/// The listener subscribes first and reads the counter second, and only then
/// reports itself healthy, so no commit can fall between the two. When the
/// connection is lost it reports unhealthy (``PostgresStore/changeCounter()``
/// then queries) and reconnects after ``PostgresStore/Options/listenerRetryDelay``.
/// It ends when its task is cancelled (by ``PostgresStore/close()``).
struct ChangeListener: Sendable {
    let core: PostgresCore

    func run() async {
        while !Task.isCancelled, core.isOpen {
            do {
                try await core.leased(cancelsBody: true, bodyTimeout: nil) { connection in
                    try await listen(on: connection)
                }
            } catch {
                // Lost connection, server down, or cancelled: fall back to queries.
            }
            core.setListenerHealthy(false)
            do {
                try await Task.sleep(for: core.options.listenerRetryDelay)
            } catch {
                return
            }
        }
    }

    private func listen(on connection: PostgresConnection) async throws {
        try await connection.listen(on: PostgresCore.channel) { notifications in
            core.observe(counter: try await PostgresCore.queryCounter(on: connection))
            core.setListenerHealthy(true)
            for try await notification in notifications {
                if let counter = Int64(notification.payload) {
                    core.observe(counter: counter)
                }
            }
        }
    }
}
