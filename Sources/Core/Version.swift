/// The version `extlib-net --version` prints; raised with each release.
public enum ExtlibNetVersion {
    public static let current = "0.4.0"
}
