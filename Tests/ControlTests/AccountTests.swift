import Control
import Testing

@Suite struct PasswordHasherTests {
    @Test func verifiesTheRightPasswordOnly() {
        let h = PasswordHasher.hash("correct horse", iterations: 1_000)
        #expect(h.hasPrefix("pbkdf2-sha256$1000$"))
        #expect(PasswordHasher.verify("correct horse", against: h))
        #expect(!PasswordHasher.verify("correct horsE", against: h))
        #expect(!PasswordHasher.verify("", against: h))
    }

    @Test func saltsDiffer() {
        #expect(PasswordHasher.hash("x", iterations: 1_000) != PasswordHasher.hash("x", iterations: 1_000))
    }

    @Test func malformedHashesNeverMatch() {
        for bad in ["", "plain", "pbkdf2-sha256$abc$x$y", "md5$1$AAAA$AAAA", "pbkdf2-sha256$0$AAAA$AAAA"] {
            #expect(!PasswordHasher.verify("x", against: bad))
        }
    }
}

@Suite struct AccountServiceTests {
    func service() async throws -> (AccountService, SQLiteInventoryStore) {
        let store = try SQLiteInventoryStore(path: nil)
        _ = try await store.createAccount(name: "ops", passwordHash: PasswordHasher.hash("s3cret", iterations: 1_000), type: "Normal", at: 0)
        return (AccountService(inventory: store), store)
    }

    @Test func loginIssuesASessionThatExpires() async throws {
        let (svc, store) = try await service()
        let s = try await svc.login(accountName: "ops", password: "s3cret", at: 10_000)
        #expect(s.expiredDate == 10_000 + svc.sessionTTL)
        #expect(try await store.validSession(uuid: s.uuid, at: 10_001) != nil)
        #expect(try await store.validSession(uuid: s.uuid, at: s.expiredDate) == nil)
        try await svc.logout(sessionUuid: s.uuid)
        #expect(try await store.validSession(uuid: s.uuid, at: 10_001) == nil)
    }

    @Test func wrongPasswordAndUnknownAccountFailAlike() async throws {
        let (svc, _) = try await service()
        let expected = ControlError.authenticationFailed("wrong account name or password")
        await #expect(throws: expected) { try await svc.login(accountName: "ops", password: "nope", at: 0) }
        await #expect(throws: expected) { try await svc.login(accountName: "ghost", password: "s3cret", at: 0) }
        await #expect(throws: ControlError.invalidArgument(field: "password", reason: "give the password")) {
            try await svc.login(accountName: "ops", password: "", at: 0)
        }
    }

    @Test func ensureAdminGeneratesOnceAndKeepsAGivenPassword() async throws {
        let store = try SQLiteInventoryStore(path: nil)
        let svc = AccountService(inventory: store)
        let generated = try #require(try await svc.ensureAdmin(password: nil, at: 0))
        #expect(generated.count == 24)
        #expect(try await svc.ensureAdmin(password: nil, at: 0) == nil)
        _ = try await svc.login(accountName: "admin", password: generated, at: 1)

        let store2 = try SQLiteInventoryStore(path: nil)
        let svc2 = AccountService(inventory: store2)
        #expect(try await svc2.ensureAdmin(password: "chosen-pw", at: 0) == nil)
        _ = try await svc2.login(accountName: "admin", password: "chosen-pw", at: 1)
    }
}
