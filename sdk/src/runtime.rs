//! The plugin instance's state: the configured policy, kept in a thread-local slot (a
//! component instance is single-threaded), and the glue shared by the three export shims.

use crate::log::{self, LogLevel};
use serde::de::DeserializeOwned;
use std::any::Any;
use std::cell::{Cell, RefCell};

thread_local! {
    /// The policy built by the last successful `configure`, type-erased (one plugin exports one
    /// world, so there is exactly one policy type per instance).
    static POLICY: RefCell<Option<Box<dyn Any>>> = const { RefCell::new(None) };
    static HOOK_INSTALLED: Cell<bool> = const { Cell::new(false) };
}

/// Called at the start of every export: makes panics visible in the gateway's log (as an
/// `error` line) before the instance traps.
pub(crate) fn enter() {
    #[cfg(target_arch = "wasm32")]
    if !HOOK_INSTALLED.replace(true) {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            log::log(LogLevel::Error, &format!("plugin panicked: {info}"));
            previous(info);
        }));
    }
    #[cfg(not(target_arch = "wasm32"))]
    HOOK_INSTALLED.set(true);
}

/// `configure`: parse the JSON into `C`, build the policy with `new`, store it. Any previous
/// policy is dropped first, so a failed `configure` leaves the instance unconfigured.
pub(crate) fn configure<C, P>(
    json: &str,
    new: impl FnOnce(C) -> Result<P, String>,
) -> Result<(), String>
where
    C: DeserializeOwned,
    P: 'static,
{
    enter();
    POLICY.with_borrow_mut(|slot| *slot = None);
    let policy = parse_and_build(json, new)?;
    POLICY.with_borrow_mut(|slot| *slot = Some(Box::new(policy)));
    Ok(())
}

fn parse_and_build<C: DeserializeOwned, P>(
    json: &str,
    new: impl FnOnce(C) -> Result<P, String>,
) -> Result<P, String> {
    let config = crate::parse_config::<C>(json)?;
    new(config).map_err(|e| format!("invalid config: {e}"))
}

/// Runs `f` with the configured policy, or returns `unconfigured` (after logging a warning
/// naming `call`) if `configure` has not succeeded.
pub(crate) fn with_policy<P: 'static, R>(
    call: &str,
    unconfigured: impl FnOnce() -> R,
    f: impl FnOnce(&P) -> R,
) -> R {
    enter();
    POLICY.with_borrow(|slot| {
        if let Some(policy) = slot.as_ref().and_then(|p| p.downcast_ref::<P>()) {
            return f(policy);
        }
        let message = format!("{call} called before a successful configure: safe default");
        log::log(LogLevel::Warn, &message);
        unconfigured()
    })
}

#[cfg(test)]
pub(crate) fn reset() {
    POLICY.with_borrow_mut(|slot| *slot = None);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize)]
    struct Cfg {
        n: u32,
    }

    struct P(u32);

    #[test]
    fn configure_then_use() {
        reset();
        assert_eq!(with_policy::<P, _>("decide", || 0, |p| p.0), 0);
        configure::<Cfg, P>(r#"{"n": 3}"#, |c| Ok(P(c.n))).unwrap();
        assert_eq!(with_policy::<P, _>("decide", || 0, |p| p.0), 3);
        // A failed reconfigure drops the old policy.
        let e = configure::<Cfg, P>(r#"{"n": 4}"#, |_| Err("n must be even".into())).unwrap_err();
        assert_eq!(e, "invalid config: n must be even");
        assert_eq!(with_policy::<P, _>("decide", || 0, |p| p.0), 0);
        let e = configure::<Cfg, P>("{}", |c| Ok(P(c.n))).unwrap_err();
        assert_eq!(e, "invalid config: missing field `n`");
        configure::<Cfg, P>(r#"{"n": 5}"#, |c| Ok(P(c.n))).unwrap();
        assert_eq!(with_policy::<P, _>("decide", || 0, |p| p.0), 5);
        reset();
    }
}
