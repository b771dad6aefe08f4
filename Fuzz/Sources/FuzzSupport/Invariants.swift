#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Stops the process with `message` when an invariant does not hold.
///
/// libFuzzer reports the abort as a crash and saves the input. The message
/// names the invariant, never secret values (there are none worth keeping in
/// a fuzz process, but the habit is the project's).
public func fuzzCheck(
    _ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String,
    file: StaticString = #fileID, line: UInt = #line
) {
    guard !condition() else { return }
    fuzzFail(message(), file: file, line: line)
}

/// Stops the process: an invariant failed.
public func fuzzFail(_ message: String, file: StaticString = #fileID, line: UInt = #line) -> Never {
    let during = Warmup.replaying.map { " (replaying \($0))" } ?? ""
    writeToStandardError("INVARIANT FAILED at \(file):\(line): \(message)\(during)\n")
    abort()
}

/// Writes `text` to file descriptor 2, unbuffered.
public func writeToStandardError(_ text: String) {
    var bytes = Array(text.utf8)
    bytes.withUnsafeMutableBytes { buffer in
        var offset = 0
        while offset < buffer.count {
            let written = write(2, buffer.baseAddress.map { $0 + offset }, buffer.count - offset)
            if written <= 0 { return }
            offset += written
        }
    }
}

/// Runs `body`, which may succeed or throw an `E`; any other error breaks the invariant
/// "only the module's own error type escapes". Returns the value, or `nil` after an `E`.
@discardableResult
public func expectOnly<E: Error, T>(
    _ errorType: E.Type, _ what: @autoclosure () -> String,
    file: StaticString = #fileID, line: UInt = #line,
    _ body: () throws -> T
) -> T? {
    do {
        return try body()
    } catch is E {
        return nil
    } catch {
        fuzzFail("\(what()) threw \(type(of: error)) (\(error)); only \(E.self) may escape", file: file, line: line)
    }
}

/// Like ``expectOnly(_:_:file:line:_:)``, returning the error too, for targets that check its code.
public func outcome<E: Error, T>(
    _ errorType: E.Type, _ what: @autoclosure () -> String,
    file: StaticString = #fileID, line: UInt = #line,
    _ body: () throws -> T
) -> Result<T, E> {
    do {
        return .success(try body())
    } catch let error as E {
        return .failure(error)
    } catch {
        fuzzFail("\(what()) threw \(type(of: error)) (\(error)); only \(E.self) may escape", file: file, line: line)
    }
}

/// Hex of a few bytes, for invariant messages about public data.
public func hexPrefix(_ bytes: some Sequence<UInt8>, limit: Int = 48) -> String {
    let digits = Array("0123456789abcdef")
    var out = ""
    for (i, b) in bytes.enumerated() {
        if i == limit {
            out += "…"
            break
        }
        out.append(digits[Int(b >> 4)])
        out.append(digits[Int(b & 0xF)])
    }
    return out
}
