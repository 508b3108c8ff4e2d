//! The `lifecycle` world: [`LifecyclePolicy`] and [`export_lifecycle!`](crate::export_lifecycle).

use crate::__bindings::lifecycle as world;
use crate::__bindings::lifecycle::exports::lakegate::policy::lifecycle_policy as iface;
use crate::{LifecycleAction, LifecycleItem, Timestamp, runtime};
use serde::de::DeserializeOwned;
use std::marker::PhantomData;

/// A lifecycle policy: decides, for each object version and incomplete upload the scanner
/// visits, whether to keep it, expire it, or abort it.
///
/// The host calls `decide` with batches; the SDK maps [`decide`](Self::decide) over each batch
/// (override [`decide_batch`](Self::decide_batch) to see the whole batch). Decisions the
/// object-lock rules forbid (expiring a locked version) are never carried out by the host.
///
/// ```
/// use lakegate_sdk::{LifecycleAction, LifecycleItem, LifecyclePolicy, Timestamp};
///
/// #[derive(serde::Deserialize)]
/// struct Config { days: i64 }
///
/// struct AbortStaleUploads { days: i64 }
///
/// impl LifecyclePolicy for AbortStaleUploads {
///     type Config = Config;
///     fn new(config: Config) -> Result<Self, String> {
///         if config.days < 1 {
///             return Err("days must be at least 1".into());
///         }
///         Ok(AbortStaleUploads { days: config.days })
///     }
///     fn decide(&self, item: &LifecycleItem, now: Timestamp) -> LifecycleAction {
///         match item {
///             LifecycleItem::Upload(u) if u.age_days(now) >= self.days => LifecycleAction::AbortUpload,
///             _ => LifecycleAction::Keep,
///         }
///     }
/// }
///
/// lakegate_sdk::export_lifecycle!(AbortStaleUploads);
/// ```
pub trait LifecyclePolicy: Sized + 'static {
    /// The configuration, deserialized from the binding's JSON configuration (see
    /// [`parse_config`](crate::parse_config)). Use [`NoConfig`](crate::NoConfig) for none.
    type Config: DeserializeOwned;

    /// Builds the policy from its configuration. An `Err(message)` rejects the binding; the
    /// host reports it as `invalid config: <message>`.
    fn new(config: Self::Config) -> Result<Self, String>;

    /// The action for one item, given the current time `now`.
    fn decide(&self, item: &LifecycleItem, now: Timestamp) -> LifecycleAction;

    /// The actions for a whole batch: exactly one per item, in order. The default maps
    /// [`decide`](Self::decide) over the items; override it only if decisions depend on other
    /// items of the batch. The host rejects a batch answer of the wrong length.
    fn decide_batch(&self, items: &[LifecycleItem], now: Timestamp) -> Vec<LifecycleAction> {
        items.iter().map(|item| self.decide(item, now)).collect()
    }
}

/// Implements the generated `lifecycle` world for `P`. Used by
/// [`export_lifecycle!`](crate::export_lifecycle); not for direct use.
#[doc(hidden)]
pub struct LifecycleExport<P>(PhantomData<P>);

impl<P: LifecyclePolicy> world::Guest for LifecycleExport<P> {
    fn configure(config: String) -> Result<(), String> {
        runtime::configure::<P::Config, P>(&config, P::new)
    }
}

impl<P: LifecyclePolicy> iface::Guest for LifecycleExport<P> {
    fn decide(items: Vec<iface::LifecycleItem>, now: i64) -> Vec<iface::LifecycleAction> {
        let items: Vec<LifecycleItem> = items.into_iter().map(Into::into).collect();
        let n = items.len();
        runtime::with_policy::<P, _>(
            "lifecycle-policy.decide",
            || vec![LifecycleAction::Keep; n],
            |policy| policy.decide_batch(&items, Timestamp(now)),
        )
        .into_iter()
        .map(Into::into)
        .collect()
    }
}

/// Exports a [`LifecyclePolicy`] as the plugin's `lifecycle` world.
///
/// Invoke it exactly once, at the top level of the plugin crate (a `cdylib`), with the policy
/// type: `lakegate_sdk::export_lifecycle!(MyPolicy);`.
///
/// - `configure(json)` parses the JSON into `MyPolicy::Config` and calls `MyPolicy::new`;
///   errors come back as `Err("invalid config: …")`.
/// - `decide` before a successful `configure` logs a warning and answers
///   [`LifecycleAction::Keep`] for every item.
#[macro_export]
macro_rules! export_lifecycle {
    ($policy:ty) => {
        // The component exports exist only in wasm builds: natively (tests, clippy, `cargo
        // build --workspace`) a cdylib cannot export symbols named like
        // `lakegate:policy/…#decide`, so there the macro only checks the trait bound.
        #[cfg(target_arch = "wasm32")]
        const _: () = {
            type __LakegateLifecycleExport = $crate::__private::LifecycleExport<$policy>;
            $crate::__bindings::lifecycle::export!(
                __LakegateLifecycleExport with_types_in $crate::__bindings::lifecycle
            );
        };
        #[cfg(not(target_arch = "wasm32"))]
        const _: fn() = || {
            fn implements_lifecycle_policy<P: $crate::LifecyclePolicy>() {}
            implements_lifecycle_policy::<$policy>();
        };
    };
}
