import Formats

/// What extlib-net asks of Immich's API. `ImmichAPI` speaks it over HTTP; unit tests use a fake that
/// keeps state in memory, so the decisions above the API run without a server. Every call is bounded by
/// the client's own timeout.
public protocol ImmichClient: Sendable {
    func ping() throws(ImmichError)
    func me() throws(ImmichError) -> ImmichUser
    func adminUsers() throws(ImmichError) -> [ImmichUser]
    func libraries() throws(ImmichError) -> [ImmichLibrary]
    func createLibrary(ownerId: String, name: String, importPaths: [String]) throws(ImmichError) -> ImmichLibrary
    func setImportPaths(_ library: ImmichLibrary, _ importPaths: [String]) throws(ImmichError) -> ImmichLibrary
    func validate(_ library: ImmichLibrary, importPaths: [String]) throws(ImmichError) -> [ImportPathVerdict]
    func scan(_ libraryID: String) throws(ImmichError)
    func statistics(_ libraryID: String) throws(ImmichError) -> LibraryStatistics
    func offlineAssets(in libraryID: String, limit: Int) throws(ImmichError) -> Int
    func assetPaths(in libraryID: String, limit: Int) throws(ImmichError) -> [String]
    func systemConfig() throws(ImmichError) -> JSON
    func putSystemConfig(_ config: JSON) throws(ImmichError)
    func notify(_ userID: String, title: String, description: String, level: NoticeLevel) throws(ImmichError)
}

/// The level of an admin notification.
public enum NoticeLevel: String, Sendable { case success, warning, error, info }

extension ImmichAPI: ImmichClient {}

extension ImmichClient {
    /// Up to 100,000: enough to say "some are offline", bounded however large the library.
    public func offlineAssets(in libraryID: String) throws(ImmichError) -> Int { try offlineAssets(in: libraryID, limit: 100_000) }
}
