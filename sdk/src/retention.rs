//! The `retention` world: [`RetentionPolicy`] and [`export_retention!`](crate::export_retention).

use crate::__bindings::retention as world;
use crate::__bindings::retention::exports::lakegate::policy::retention_policy as iface;
use crate::{ObjectVersion, RetentionDecision, Timestamp, runtime};
use serde::de::DeserializeOwned;
use std::marker::PhantomData;

/// A retention policy: decides the object-lock retention (and legal hold) of every new version.
///
/// The host calls [`decide`](Self::decide) on every object-creating write (PUT, copy,
/// complete-multipart) and never applies a retention shorter than what the version already has
/// or than the bucket's default, so a policy can only strengthen protection.
///
/// Export it with [`export_retention!`](crate::export_retention):
///
/// ```
/// use lakegate_sdk::{ObjectVersion, RetentionDecision, RetentionMode, RetentionPolicy, Timestamp, days};
///
/// #[derive(serde::Deserialize)]
/// struct Config { days: u32 }
///
/// struct KeepFor(u32);
///
/// impl RetentionPolicy for KeepFor {
///     type Config = Config;
///     fn new(config: Config) -> Result<Self, String> {
///         Ok(KeepFor(config.days))
///     }
///     fn decide(&self, _object: &ObjectVersion, now: Timestamp) -> RetentionDecision {
///         RetentionDecision::retain(RetentionMode::Governance, now + days(self.0.into()))
///     }
/// }
///
/// lakegate_sdk::export_retention!(KeepFor);
/// ```
pub trait RetentionPolicy: Sized + 'static {
    /// The configuration, deserialized from the binding's JSON configuration (see
    /// [`parse_config`](crate::parse_config)). Use [`NoConfig`](crate::NoConfig) for none.
    type Config: DeserializeOwned;

    /// Builds the policy from its configuration. An `Err(message)` rejects the binding; the
    /// host reports it as `invalid config: <message>`.
    fn new(config: Self::Config) -> Result<Self, String>;

    /// The retention and legal hold for one new version, given the current time `now`.
    fn decide(&self, object: &ObjectVersion, now: Timestamp) -> RetentionDecision;
}

/// Implements the generated `retention` world for `P`. Used by
/// [`export_retention!`](crate::export_retention); not for direct use.
#[doc(hidden)]
pub struct RetentionExport<P>(PhantomData<P>);

impl<P: RetentionPolicy> world::Guest for RetentionExport<P> {
    fn configure(config: String) -> Result<(), String> {
        runtime::configure::<P::Config, P>(&config, P::new)
    }
}

impl<P: RetentionPolicy> iface::Guest for RetentionExport<P> {
    fn decide(
        object: crate::__bindings::retention::lakegate::policy::types::ObjectVersion,
        now: i64,
    ) -> iface::RetentionDecision {
        let object = ObjectVersion::from(object);
        runtime::with_policy::<P, _>(
            "retention-policy.decide",
            RetentionDecision::none,
            |policy| policy.decide(&object, Timestamp(now)),
        )
        .into()
    }
}

/// Exports a [`RetentionPolicy`] as the plugin's `retention` world.
///
/// Invoke it exactly once, at the top level of the plugin crate (a `cdylib`), with the policy
/// type: `lakegate_sdk::export_retention!(MyPolicy);`. It generates the component's exports
/// (`configure` and `lakegate:policy/retention-policy`) and the metadata that makes
/// `wasm32-wasip2` builds a component of the `retention` world.
///
/// - `configure(json)` parses the JSON into `MyPolicy::Config` and calls `MyPolicy::new`;
///   errors come back as `Err("invalid config: …")`.
/// - `decide` before a successful `configure` logs a warning and answers
///   [`RetentionDecision::none()`].
#[macro_export]
macro_rules! export_retention {
    ($policy:ty) => {
        // The component exports exist only in wasm builds: natively (tests, clippy, `cargo
        // build --workspace`) a cdylib cannot export symbols named like
        // `lakegate:policy/…#decide`, so there the macro only checks the trait bound.
        #[cfg(target_arch = "wasm32")]
        const _: () = {
            type __LakegateRetentionExport = $crate::__private::RetentionExport<$policy>;
            $crate::__bindings::retention::export!(
                __LakegateRetentionExport with_types_in $crate::__bindings::retention
            );
        };
        #[cfg(not(target_arch = "wasm32"))]
        const _: fn() = || {
            fn implements_retention_policy<P: $crate::RetentionPolicy>() {}
            implements_retention_policy::<$policy>();
        };
    };
}
