internal import GRDB

extension StoreError {
    /// The one place where backend errors become ``StoreError``.
    ///
    /// Messages carry SQLite result codes and SQLite's own message (which names
    /// tables and columns, never bound values), so no object bytes leak.
    static func mapping(_ error: any Error) -> any Error {
        switch error {
        case let error as StoreError:
            return error
        case is CancellationError:
            return error
        case let error as DatabaseError:
            let detail = "SQLite error \(error.extendedResultCode.rawValue): \(error.message ?? "no message")"
            switch error.resultCode {
            case .SQLITE_CORRUPT, .SQLITE_NOTADB:
                return StoreError.corrupt("the database file is damaged or not a Redoubt store (\(detail))")
            case .SQLITE_BUSY, .SQLITE_LOCKED:
                return StoreError.unavailable("the database stayed locked by another connection past the busy timeout (\(detail))")
            case .SQLITE_FULL:
                return StoreError.unavailable("the disk is full (\(detail))")
            case .SQLITE_TOOBIG:
                return StoreError.invalidArgument("a value exceeds SQLite's size limit (\(detail))")
            case .SQLITE_CANTOPEN:
                return StoreError.unavailable("the database file cannot be opened (\(detail))")
            default:
                return StoreError.unavailable(detail)
            }
        case is RowDecodingError:
            // Its description includes row contents: never forward it.
            return StoreError.corrupt("a stored row has an unexpected type")
        default:
            return StoreError.unavailable("unexpected store failure (\(type(of: error)))")
        }
    }

    /// ``mapping(_:)`` for callers that need a ``StoreError`` value.
    static func storeError(_ error: any Error) -> StoreError {
        if let error = mapping(error) as? StoreError {
            return error
        }
        return StoreError.unavailable("the operation was cancelled")
    }
}
