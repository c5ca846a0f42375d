// The credentials file: what parses must render and parse back to the same credentials.
@testable import Credentials
import FuzzSupport

fuzz { bytes in
    guard let document = try? CredentialsDocument.parse(bytes) else { return }
    guard let again = try? CredentialsDocument.parse(document.rendered()), again.credentials == document.credentials else {
        fatalError("an accepted credentials file does not read back the same")
    }
}
