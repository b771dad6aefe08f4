import Redoubt
import Testing

@Test func versionIsSemantic() {
    #expect(RedoubtVersion.current.split(separator: ".").count == 3)
}
