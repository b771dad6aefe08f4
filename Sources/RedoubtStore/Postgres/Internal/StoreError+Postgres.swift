internal import PostgresNIO

extension StoreError {
    /// The one place where PostgreSQL errors become ``StoreError``.
    ///
    /// Messages carry the SQLSTATE and the server's primary message (which names
    /// tables and constraints, never bound values), never PSQLError's
    /// reflection (which holds the query and its binds) or the connection's
    /// password.
    static func postgresMapping(_ error: any Error) -> any Error {
        switch error {
        case let error as StoreError:
            return error
        case is CancellationError, is ImportSourceFailure, is PostgresBatchWriter.GroupBatchFailure:
            return error
        case let error as PSQLError:
            return postgresMapping(error)
        case let error as PostgresDecodingError:
            return StoreError.corrupt("a stored row has an unexpected type (column \(error.columnName))")
        default:
            return StoreError.unavailable("unexpected PostgreSQL failure (\(type(of: error)))")
        }
    }

    /// ``postgresMapping(_:)`` for callers that need a ``StoreError`` value.
    static func postgresStoreError(_ error: any Error) -> StoreError {
        if let error = postgresMapping(error) as? StoreError {
            return error
        }
        return StoreError.unavailable("the operation was cancelled")
    }

    private static func postgresMapping(_ error: PSQLError) -> StoreError {
        switch error.code {
        case .server:
            let state = error.serverInfo?[.sqlState] ?? "?????"
            let detail = "PostgreSQL error \(state): \(error.serverInfo?[.message] ?? "no message")"
            switch state {
            case "XX001", "XX002":
                return StoreError.corrupt("the database is damaged (\(detail))")
            case "42P01", "42703":
                return StoreError.corrupt("the database is not a Redoubt store or its schema was altered (\(detail))")
            case "22021", "22P05", "54000", "22001", "22003":
                return StoreError.invalidArgument("a value cannot be stored in PostgreSQL (\(detail))")
            case "53100":
                return StoreError.unavailable("the PostgreSQL server's disk is full (\(detail))")
            case "28P01", "28000":
                return StoreError.unavailable("PostgreSQL refused the credentials (\(detail))")
            case "3D000":
                return StoreError.unavailable("the PostgreSQL database does not exist (\(detail))")
            default:
                return StoreError.unavailable(detail)
            }
        case .connectionError, .serverClosedConnection, .uncleanShutdown, .clientClosedConnection, .poolClosed:
            return StoreError.unavailable("the connection to the PostgreSQL server was lost (\(error.code))")
        case .sslUnsupported:
            return StoreError.unavailable("the PostgreSQL server does not support TLS, which sslmode requires")
        case .queryCancelled:
            return StoreError.unavailable("the PostgreSQL query was cancelled")
        default:
            return StoreError.unavailable("PostgreSQL failure (\(error.code))")
        }
    }
}
