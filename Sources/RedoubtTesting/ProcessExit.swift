import Foundation

extension Process {
    /// Waits for the process to end without blocking a thread. The test runner's cooperative pool
    /// has one thread per core (two here): a test blocked in `waitUntilExit()` takes one of them
    /// from every other test running at the same time, and two such tests stall the whole run.
    func exited() async {
        while isRunning { try? await Task.sleep(for: .milliseconds(10)) }
    }
}
