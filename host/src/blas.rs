//! The BLAS this crate links (the system OpenBLAS), the kernels it chose for
//! this CPU, and how `wmf` corrects a choice that leaves the CPU's vector
//! units idle.
//!
//! An OpenBLAS built with `DYNAMIC_ARCH` (Debian's, Ubuntu's) picks its
//! kernels once, when the library loads, from a table of CPU families and
//! models that is as old as the build. A newer CPU may be missing from it:
//! Debian 12's OpenBLAS 0.3.21 does not know Intel's Emerald Rapids Xeons
//! (family 6, model 207) and falls back to its **Prescott** kernels (SSE3,
//! 2004), although the CPU has AVX-512. Measured on such a machine
//! (BENCHMARKS.md, round 13): `sgemm` at 28 GFLOP/s on one core against 151
//! with the SkylakeX kernels of the same library. Nothing fails; everything
//! that goes through BLAS (the Gramians, the Cholesky solver's rank updates,
//! batched scoring) just runs several times slower than it should.
//!
//! OpenBLAS reads `OPENBLAS_CORETYPE` only while it loads, before `main`, so
//! a process cannot change its own choice. The `wmf` binary therefore checks
//! first thing ([`retarget`]): when the variable is unset, the library chose
//! a core without AVX2 kernels and the CPU has AVX2 (or AVX-512), it runs
//! itself again with `OPENBLAS_CORETYPE` set to the matching core
//! ([`preferred_core`]). A variable the user set is always left alone, so
//! `OPENBLAS_CORETYPE=Prescott wmf ...` still gets Prescott. `wmf info`
//! reports what was chosen.
//!
//! Results do not depend on the BLAS core beyond rounding: the per-row math
//! is the kernel's in every case, and the BLAS products are checked against
//! the kernel's in the tests under whatever core the machine gives.

use std::ffi::{CStr, c_char};

unsafe extern "C" {
    /// OpenBLAS: the name of the kernel set in use ("Haswell", "SkylakeX",
    /// "Prescott", ...), a static NUL-terminated string.
    fn openblas_get_corename() -> *const c_char;
    /// OpenBLAS: its build configuration ("OpenBLAS 0.3.21 DYNAMIC_ARCH
    /// NO_AFFINITY Haswell MAX_THREADS=64"), a static NUL-terminated string.
    fn openblas_get_config() -> *const c_char;
}

/// The environment variable OpenBLAS reads to force a kernel set.
pub const CORETYPE_VAR: &str = "OPENBLAS_CORETYPE";

/// Set by [`retarget`] in the process it starts: the core OpenBLAS had
/// chosen by itself (so that [`Report`] can say why the core was forced).
pub const RETARGETED_VAR: &str = "WMF_BLAS_RETARGETED_FROM";

/// Test hook: pretend OpenBLAS reported this core name (the CPUs that make
/// OpenBLAS fall back are rare, so the tests use this to run [`retarget`]'s
/// re-execution on any machine with AVX2).
const TEST_CORENAME_VAR: &str = "WMF_TEST_BLAS_CORENAME";

fn c_str(p: *const c_char) -> String {
    if p.is_null() {
        return String::new();
    }
    // SAFETY: OpenBLAS returns pointers to static NUL-terminated strings;
    // null is handled above.
    unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
}

/// The kernel set OpenBLAS is using in this process, as it names it
/// ("SkylakeX", "Haswell", "Prescott", ...).
pub fn core_name() -> String {
    // SAFETY: a plain getter without arguments; OpenBLAS is initialised
    // when its library loads.
    c_str(unsafe { openblas_get_corename() })
}

/// OpenBLAS's build configuration string (version, `DYNAMIC_ARCH`, the
/// build's own target, thread limit).
pub fn config() -> String {
    // SAFETY: as in `core_name`.
    c_str(unsafe { openblas_get_config() })
}

/// The widest vector level of this CPU that OpenBLAS has kernels for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum CpuLevel {
    /// Neither of the levels below (or not x86-64).
    Other,
    /// AVX2 with FMA: OpenBLAS's Haswell kernels run here.
    Avx2,
    /// AVX-512 F, CD, BW, DQ and VL: OpenBLAS's SkylakeX kernels run here.
    Avx512,
}

impl CpuLevel {
    /// This CPU's level (from CPUID, including the operating system's
    /// support for the wide registers).
    pub fn detect() -> Self {
        #[cfg(target_arch = "x86_64")]
        {
            use std::arch::is_x86_feature_detected as has;
            if has!("avx512f")
                && has!("avx512cd")
                && has!("avx512bw")
                && has!("avx512dq")
                && has!("avx512vl")
            {
                return Self::Avx512;
            }
            if has!("avx2") && has!("fma") {
                return Self::Avx2;
            }
        }
        Self::Other
    }
}

/// OpenBLAS's x86 kernel sets without AVX2 code (its `corename` table):
/// what its detection falls back to on a CPU it does not know.
const WITHOUT_AVX2: &[&str] = &[
    "unknown",
    "katmai",
    "coppermine",
    "northwood",
    "prescott",
    "banias",
    "atom",
    "core2",
    "penryn",
    "dunnington",
    "nehalem",
    "athlon",
    "opteron",
    "opteron_sse3",
    "barcelona",
    "nano",
    "sandybridge",
    "bobcat",
    "bulldozer",
    "piledriver",
    "steamroller",
];

/// Whether OpenBLAS's kernel set `core` (as [`core_name`] names it;
/// case-insensitive) is one of its x86 sets without AVX2 code, which its
/// detection falls back to on a CPU it does not know.
///
/// ```
/// assert!(wmf_host::blas::lacks_avx2("Prescott"));
/// assert!(!wmf_host::blas::lacks_avx2("SkylakeX"));
/// ```
pub fn lacks_avx2(core: &str) -> bool {
    WITHOUT_AVX2.contains(&core.trim().to_ascii_lowercase().as_str())
}

/// The core to force when OpenBLAS chose `current` on a CPU of level `cpu`:
/// `Some("SkylakeX")` or `Some("Haswell")` when `current` has no AVX2
/// kernels but the CPU has AVX-512 or AVX2; `None` when the choice already
/// uses AVX2 or wider (OpenBLAS knows the CPU; a deliberate choice is not
/// second-guessed) or the CPU has neither. Case-insensitive.
///
/// ```
/// use wmf_host::blas::{CpuLevel, preferred_core};
/// assert_eq!(preferred_core("Prescott", CpuLevel::Avx512), Some("SkylakeX"));
/// assert_eq!(preferred_core("Sandybridge", CpuLevel::Avx2), Some("Haswell"));
/// assert_eq!(preferred_core("Haswell", CpuLevel::Avx512), None);
/// assert_eq!(preferred_core("Prescott", CpuLevel::Other), None);
/// ```
pub fn preferred_core(current: &str, cpu: CpuLevel) -> Option<&'static str> {
    if !lacks_avx2(current) {
        return None;
    }
    match cpu {
        CpuLevel::Avx512 => Some("SkylakeX"),
        CpuLevel::Avx2 => Some("Haswell"),
        CpuLevel::Other => None,
    }
}

/// The core [`retarget`] would force in this process: [`preferred_core`]
/// of OpenBLAS's choice, when `OPENBLAS_CORETYPE` is not set (an empty
/// value counts as set: OpenBLAS reads it).
pub fn core_to_force() -> Option<&'static str> {
    plan().map(|(core, _)| core)
}

/// [`core_to_force`] with the core OpenBLAS chose (or the test hook's).
fn plan() -> Option<(&'static str, String)> {
    if std::env::var_os(CORETYPE_VAR).is_some() {
        return None;
    }
    let current = std::env::var(TEST_CORENAME_VAR).unwrap_or_else(|_| core_name());
    preferred_core(&current, CpuLevel::detect()).map(|core| (core, current))
}

/// Runs this program again with `OPENBLAS_CORETYPE` set, when
/// [`core_to_force`] names a core: same executable, arguments, standard
/// streams and process id (`exec`); it does not return then. Returns the
/// error when the `exec` fails (the caller carries on with the slow
/// kernels), `Ok(())` when there is nothing to do. Call it first thing in
/// `main`, before any thread, file or output exists. Unix only (elsewhere it
/// does nothing).
///
/// # Errors
/// The `exec` failed (the executable's path could not be read, or the
/// system refused to run it).
pub fn retarget() -> std::io::Result<()> {
    #[cfg(unix)]
    if let Some((core, from)) = plan() {
        use std::os::unix::process::CommandExt;
        let exe = std::env::current_exe()?;
        let mut args = std::env::args_os();
        let mut cmd = std::process::Command::new(exe);
        if let Some(arg0) = args.next() {
            cmd.arg0(arg0);
        }
        return Err(cmd
            .args(args)
            .env(CORETYPE_VAR, core)
            .env(RETARGETED_VAR, from)
            .env_remove(TEST_CORENAME_VAR)
            .exec());
    }
    Ok(())
}

/// What this process runs its BLAS on, for `wmf info` and bug reports.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Report {
    /// [`config`]: OpenBLAS's build configuration.
    pub config: String,
    /// [`core_name`]: the kernel set in use.
    pub core: String,
    /// `OPENBLAS_CORETYPE` as this process sees it.
    pub coretype_env: Option<String>,
    /// The core OpenBLAS had chosen before `wmf` forced `core` (set when
    /// [`retarget`] ran this process again).
    pub retargeted_from: Option<String>,
    /// [`CpuLevel::detect`].
    pub cpu_level: String,
}

impl Report {
    /// This process's report.
    pub fn current() -> Self {
        Self {
            config: config(),
            core: core_name(),
            coretype_env: std::env::var(CORETYPE_VAR).ok(),
            retargeted_from: std::env::var(RETARGETED_VAR).ok(),
            cpu_level: format!("{:?}", CpuLevel::detect()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fallbacks_are_retargeted_by_cpu_level() {
        for &old in WITHOUT_AVX2 {
            assert_eq!(preferred_core(old, CpuLevel::Avx512), Some("SkylakeX"));
            assert_eq!(preferred_core(old, CpuLevel::Avx2), Some("Haswell"));
            assert_eq!(preferred_core(old, CpuLevel::Other), None);
        }
        assert_eq!(
            preferred_core("PRESCOTT", CpuLevel::Avx512),
            Some("SkylakeX")
        );
        assert_eq!(preferred_core(" Core2 ", CpuLevel::Avx2), Some("Haswell"));
    }

    #[test]
    fn wide_choices_are_kept() {
        for good in [
            "Haswell",
            "Zen",
            "SkylakeX",
            "Cooperlake",
            "SapphireRapids",
            "Excavator",
            "",
            "something new",
        ] {
            for cpu in [CpuLevel::Avx512, CpuLevel::Avx2, CpuLevel::Other] {
                assert_eq!(preferred_core(good, cpu), None, "{good} on {cpu:?}");
            }
        }
    }

    #[test]
    fn this_process_reports_a_core() {
        let r = Report::current();
        assert!(!r.core.is_empty());
        assert!(r.config.contains("OpenBLAS"), "{}", r.config);
    }
}
