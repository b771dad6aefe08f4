@testable import RedoubtStore
import Testing

@Suite("GroupCommitState")
struct GroupCommitStateTests {
    @Test("the first batch starts a drain, later ones queue behind it")
    func drainLifecycle() {
        var state = GroupCommitState<Int>()
        #expect(state.enqueue(1) == .startDrain)
        #expect(state.enqueue(2) == .queued)
        #expect(state.enqueue(3) == .queued)
        #expect(state.takeGroup(limit: 2) == [1, 2])
        #expect(state.enqueue(4) == .queued)
        #expect(state.takeGroup(limit: 10) == [3, 4])
        #expect(state.isDraining)
        #expect(state.takeGroup(limit: 10).isEmpty)
        #expect(!state.isDraining)
        #expect(state.enqueue(5) == .startDrain)
    }

    @Test("closing refuses new batches but keeps pending ones")
    func closing() {
        var state = GroupCommitState<Int>()
        #expect(state.enqueue(1) == .startDrain)
        let first = state.close()
        let second = state.close()
        #expect(first)
        #expect(!second)
        #expect(state.enqueue(2) == .rejected)
        #expect(state.takeGroup(limit: 10) == [1])
        #expect(state.takeGroup(limit: 10).isEmpty)
    }

    @Test("a non-positive limit still makes progress")
    func limitFloor() {
        var state = GroupCommitState<Int>()
        _ = state.enqueue(1)
        _ = state.enqueue(2)
        #expect(state.takeGroup(limit: 0) == [1])
    }

    @Test("statistics count transactions and batches")
    func statistics() {
        var state = GroupCommitState<Int>()
        state.recordTransaction(batchCount: 3)
        state.recordTransaction(batchCount: 1)
        #expect(state.transactions == 2)
        #expect(state.batches == 4)
    }
}
