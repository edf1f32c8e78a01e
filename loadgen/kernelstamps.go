package loadgen

// KernelStamps turns the kernel's receive timestamps on for this process
// (once: engines do it before T0 anyway) and reports whether responses are
// stamped with them. Where they are not (systems other than Linux, a kernel
// that refuses SO_TIMESTAMPNS), ttfb and download end where the reads
// return, which adds the generator's own wake-up latency to them.
func KernelStamps() bool { return rxStampsOn() }
