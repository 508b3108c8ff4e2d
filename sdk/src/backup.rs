//! The `backup` world: [`BackupPolicy`] and [`export_backup!`](crate::export_backup).

use crate::__bindings::backup as world;
use crate::__bindings::backup::exports::lakegate::policy::backup_policy as iface;
use crate::__bindings::retention::lakegate::policy::types as wt;
use crate::{BackupStep, ChangeEvent, ObjectVersion, TargetEntry, Timestamp, runtime};
use serde::de::DeserializeOwned;
use std::marker::PhantomData;

/// A backup policy: plans which source versions to copy to the backup target (and under which
/// path), and which target paths to delete.
///
/// ```
/// use lakegate_sdk::{BackupPolicy, BackupStep, ChangeEvent, ChangeKind, NoConfig, ObjectVersion, TargetEntry, Timestamp};
///
/// struct CopyEverything;
///
/// impl BackupPolicy for CopyEverything {
///     type Config = NoConfig;
///     fn new(_: NoConfig) -> Result<Self, String> {
///         Ok(CopyEverything)
///     }
///     fn plan_changes(&self, events: &[ChangeEvent], _now: Timestamp) -> Vec<BackupStep> {
///         events
///             .iter()
///             .filter(|e| e.kind == ChangeKind::Created && !e.object.is_delete_marker)
///             .map(|e| BackupStep::copy(e.object.clone(), e.object.key.clone()))
///             .collect()
///     }
///     fn plan_full(&self, objects: &[ObjectVersion], existing: &[TargetEntry], _now: Timestamp) -> Vec<BackupStep> {
///         objects
///             .iter()
///             .filter(|o| !existing.iter().any(|t| t.path == o.key && t.is_copy_of(o)))
///             .map(|o| BackupStep::copy(o.clone(), o.key.clone()))
///             .collect()
///     }
/// }
///
/// lakegate_sdk::export_backup!(CopyEverything);
/// ```
pub trait BackupPolicy: Sized + 'static {
    /// The configuration, deserialized from the binding's JSON configuration (see
    /// [`parse_config`](crate::parse_config)). Use [`NoConfig`](crate::NoConfig) for none.
    type Config: DeserializeOwned;

    /// Builds the policy from its configuration. An `Err(message)` rejects the binding; the
    /// host reports it as `invalid config: <message>`.
    fn new(config: Self::Config) -> Result<Self, String>;

    /// Plans the backup of a batch of change events (incremental, event-driven).
    fn plan_changes(&self, events: &[ChangeEvent], now: Timestamp) -> Vec<BackupStep>;

    /// Plans a full run over a page of source objects (latest versions) and the target entries
    /// under the same key range.
    fn plan_full(
        &self,
        objects: &[ObjectVersion],
        existing: &[TargetEntry],
        now: Timestamp,
    ) -> Vec<BackupStep>;
}

/// Implements the generated `backup` world for `P`. Used by
/// [`export_backup!`](crate::export_backup); not for direct use.
#[doc(hidden)]
pub struct BackupExport<P>(PhantomData<P>);

impl<P: BackupPolicy> world::Guest for BackupExport<P> {
    fn configure(config: String) -> Result<(), String> {
        runtime::configure::<P::Config, P>(&config, P::new)
    }
}

impl<P: BackupPolicy> iface::Guest for BackupExport<P> {
    fn plan_changes(events: Vec<wt::ChangeEvent>, now: i64) -> Vec<iface::BackupStep> {
        let events: Vec<ChangeEvent> = events.into_iter().map(Into::into).collect();
        runtime::with_policy::<P, _>("backup-policy.plan-changes", Vec::new, |policy| {
            policy.plan_changes(&events, Timestamp(now))
        })
        .into_iter()
        .map(Into::into)
        .collect()
    }

    fn plan_full(
        objects: Vec<wt::ObjectVersion>,
        existing: Vec<iface::TargetEntry>,
        now: i64,
    ) -> Vec<iface::BackupStep> {
        let objects: Vec<ObjectVersion> = objects.into_iter().map(Into::into).collect();
        let existing: Vec<TargetEntry> = existing.into_iter().map(Into::into).collect();
        runtime::with_policy::<P, _>("backup-policy.plan-full", Vec::new, |policy| {
            policy.plan_full(&objects, &existing, Timestamp(now))
        })
        .into_iter()
        .map(Into::into)
        .collect()
    }
}

/// Exports a [`BackupPolicy`] as the plugin's `backup` world.
///
/// Invoke it exactly once, at the top level of the plugin crate (a `cdylib`), with the policy
/// type: `lakegate_sdk::export_backup!(MyPolicy);`.
///
/// - `configure(json)` parses the JSON into `MyPolicy::Config` and calls `MyPolicy::new`;
///   errors come back as `Err("invalid config: …")`.
/// - `plan-changes` / `plan-full` before a successful `configure` log a warning and answer an
///   empty plan.
#[macro_export]
macro_rules! export_backup {
    ($policy:ty) => {
        // The component exports exist only in wasm builds: natively (tests, clippy, `cargo
        // build --workspace`) a cdylib cannot export symbols named like
        // `lakegate:policy/…#decide`, so there the macro only checks the trait bound.
        #[cfg(target_arch = "wasm32")]
        const _: () = {
            type __LakegateBackupExport = $crate::__private::BackupExport<$policy>;
            $crate::__bindings::backup::export!(
                __LakegateBackupExport with_types_in $crate::__bindings::backup
            );
        };
        #[cfg(not(target_arch = "wasm32"))]
        const _: fn() = || {
            fn implements_backup_policy<P: $crate::BackupPolicy>() {}
            implements_backup_policy::<$policy>();
        };
    };
}
