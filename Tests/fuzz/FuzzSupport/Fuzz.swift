#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

// libFuzzer's driver, from its runtime without `main` (libclang_rt.fuzzer_no_main): SwiftPM renames an
// executable's own `main`, which collides with the one in the full runtime.
@_silgen_name("LLVMFuzzerRunDriver")
private func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt

nonisolated(unsafe) private var body: ([UInt8]) -> Void = { _ in }

/// Runs libFuzzer with the process's arguments, calling `test` with each input; never returns. A crash
/// (a trap, a sanitizer report), a leak or a slow input ends the run with libFuzzer's report.
public func fuzz(_ test: @escaping ([UInt8]) -> Void) -> Never {
    body = test
    var argc = CommandLine.argc
    var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?> = CommandLine.unsafeArgv
    exit(LLVMFuzzerRunDriver(&argc, &argv) { data, count in
        body(count == 0 || data == nil ? [] : Array(UnsafeBufferPointer(start: data, count: count)))
        return 0
    })
}
