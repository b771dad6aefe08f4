import Foundation
@testable import Redoubt
@testable import RedoubtCore
import RedoubtStore
import Testing

/// `HSMError` is recognised by its code, never by its text, and keeps the failure underneath it.
@Suite("HSMError: codes, causes")
struct HSMErrorTests {
    @Test("errors compare and hash by code only")
    func equalityByCode() {
        #expect(HSMError(.notFound, "no such key") == HSMError(.notFound, "something else entirely"))
        #expect(HSMError(.notFound, "same text") != HSMError(.invalidArgument, "same text"))
        #expect(Set([HSMError(.aborted, "a"), HSMError(.aborted, "b"), HSMError(.cancelled, "a")]).count == 2)
        #expect(HSMError.Code.aborted.description == "ABORTED" && HSMError.Code.cancelled.description == "CANCELLED")
    }

    @Test("a store conflict becomes ABORTED with the store's error underneath, and is recognised by that code alone")
    func conflictByCode() async throws {
        let storeError = StoreError(code: .conflict, message: "revision 3 expected, 4 found")
        let error = await #expect(throws: HSMError.self) { try await LocalHSM.storeCall { () async throws -> Int in throw storeError } }
        #expect(error?.code == .aborted)
        #expect(error?.message == LocalHSM.conflictMessage)
        #expect((error?.underlying as? StoreError)?.code == .conflict)
        #expect(error.map { LocalHSM.isConflict($0) } == true)
        // The text alone does not make a conflict; the cause is not in the description.
        #expect(!LocalHSM.isConflict(HSMError(.failedPrecondition, LocalHSM.conflictMessage)))
        #expect(error?.description.contains("revision") == false)
    }

    @Test("an unavailable store keeps its cause; an engine error keeps its own")
    func causes() async throws {
        struct Disk: Error {}
        let error = await #expect(throws: HSMError.self) { try await LocalHSM.storeCall { () async throws -> Int in throw Disk() } }
        #expect(error?.code == .unavailable && error?.underlying is Disk)
        let crypto = HSMError(CryptoError(.authenticationFailure, "tag mismatch"))
        #expect(crypto.code == .invalidArgument && (crypto.underlying as? CryptoError)?.code == .authenticationFailure)
        #expect(!crypto.message.contains("tag mismatch"))
    }
}
