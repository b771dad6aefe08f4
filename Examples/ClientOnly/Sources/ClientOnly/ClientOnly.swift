// ClientOnly: asks a broker for 32 random bytes through RemoteHSM, with nothing but RedoubtClient.
//
//   REDOUBT_API_KEY=rdk1.… swift run ClientOnly HOST:PORT PARTITION
import Foundation
import RedoubtClient

@main
struct ClientOnly {
    static func main() async {
        let arguments = Array(CommandLine.arguments.dropFirst())
        guard arguments.count == 2, let apiKey = ProcessInfo.processInfo.environment["REDOUBT_API_KEY"] else {
            FileHandle.standardError.write(Data("usage: REDOUBT_API_KEY=rdk1.… ClientOnly HOST:PORT PARTITION\n".utf8))
            exit(2)
        }
        do {
            // The connection runs while the closure does, and closes when it returns or throws.
            try await withRemoteHSM(configuration: .init(endpoint: arguments[0])) { hsm in
                let session = try await hsm.openSession(partition: arguments[1], credential: .apiKey(apiKey))
                let bytes = try await hsm.random(session.token, count: 32)
                print(bytes.map { String(format: "%02x", $0) }.joined())
                try await hsm.closeSession(session.token)
            }
        } catch {
            FileHandle.standardError.write(Data("ClientOnly: \(error)\n".utf8))
            exit(1)
        }
    }
}
