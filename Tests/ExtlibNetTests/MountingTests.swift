import Testing
@testable import ExtlibNet

@Suite struct MountInfoTests {
    @Test func parsesNetworkMountsWithEscapes() {
        let text = """
            22 1 0:21 / /proc rw,nosuid shared:5 - proc proc rw
            97 29 0:52 / /root/snap/immich-distribution/common/Fotos\\040M\\303\\274ller ro,relatime shared:60 - cifs //127.0.0.1/Fotos\\040M\\303\\274ller ro,vers=3.1.1,cache=strict,username=alice,uid=0
            98 29 0:53 / /var/snap/immich-distribution/common/tab\\011and\\134back rw master:1 - nfs4 127.0.0.1:/ rw,vers=4.2
            garbage line
            """
        let entries = MountInfo.parse(text)
        #expect(entries.count == 3)
        #expect(entries[1].mountPoint == "/root/snap/immich-distribution/common/Fotos Müller")
        #expect(entries[1].source == "//127.0.0.1/Fotos Müller")
        #expect(entries[1].fileSystemType == "cifs")
        #expect(entries[1].options == ["ro", "relatime"])
        #expect(entries[1].superOptions.contains("vers=3.1.1"))
        #expect(entries[2].mountPoint == "/var/snap/immich-distribution/common/tab\tand\\back")
        #expect(entries[2].fileSystemType == "nfs4")
    }

    @Test func unescapeLeavesIncompleteEscapesAlone() {
        #expect(MountInfo.unescape("a\\04") == "a\\04")
        #expect(MountInfo.unescape("a\\999b") == "a\\999b")
        #expect(MountInfo.unescape("\\040") == " ")
        #expect(MountInfo.unescape("end\\") == "end\\")
    }
}

@Suite struct BackoffTests {
    @Test func ceilingDoublesUpToTheCap() {
        let backoff = Backoff.standard
        #expect((0...7).map { backoff.ceiling(attempt: $0) } == [1, 2, 4, 8, 16, 30, 30, 30].map { Duration.seconds($0) })
        #expect(backoff.ceiling(attempt: 1000) == .seconds(30))
    }

    @Test func everyDelayIsWithinItsBounds() {
        var generator = SystemRandomNumberGenerator()
        let backoff = Backoff(base: .milliseconds(250), cap: .seconds(5))
        for attempt in 0..<12 {
            var seenLow = false
            var seenHigh = false
            let ceiling = backoff.ceiling(attempt: attempt)
            for _ in 0..<200 {
                let delay = backoff.delay(attempt: attempt, using: &generator)
                #expect(delay >= .zero && delay <= ceiling)
                if delay < ceiling / 2 { seenLow = true } else { seenHigh = true }
            }
            #expect(seenLow && seenHigh, "full jitter spreads over the whole range")
        }
    }
}
