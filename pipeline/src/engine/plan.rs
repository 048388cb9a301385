//! Plans: which steps a case runs and in what order, as data.
//!
//! A plan is a list of steps, each with the steps it must wait for. Adding a step or an
//! ordering is adding an entry here; the engine itself only claims steps whose
//! prerequisites are done. The product's orders: manual and IdP lockouts revoke first
//! (providers, devices, sessions all at once); HRIS-triggered cases take the audit
//! snapshot before lockout (the snapshot step arrives with the audit-snapshot work).

use std::fmt;

/// One unit of work of a case; its outcome is one custody node.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Step {
    /// Revoke the employee's access at one connected provider.
    RevokeProvider(String),
    /// Send signed lock commands to the employee's enrolled devices.
    LockDevices,
    /// Revoke the employee's sessions and API tokens in this service.
    InvalidateSessions,
    /// Close the case once every other step is done.
    Complete,
}

impl Step {
    /// The step's stored name (`revoke:<provider>`, `invalidate_sessions`, …).
    pub fn name(&self) -> String {
        match self {
            Step::RevokeProvider(id) => format!("revoke:{id}"),
            Step::LockDevices => "lock_devices".into(),
            Step::InvalidateSessions => "invalidate_sessions".into(),
            Step::Complete => "complete".into(),
        }
    }

    /// Parses a stored name.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "lock_devices" => Some(Step::LockDevices),
            "invalidate_sessions" => Some(Step::InvalidateSessions),
            "complete" => Some(Step::Complete),
            _ => name
                .strip_prefix("revoke:")
                .filter(|id| !id.is_empty())
                .map(|id| Step::RevokeProvider(id.into())),
        }
    }

    /// The kind of the custody node that records the step's success.
    pub fn node_kind(&self) -> &'static str {
        match self {
            Step::RevokeProvider(_) => "provider_revoked",
            Step::LockDevices => "device_lock_sent",
            Step::InvalidateSessions => "sessions_invalidated",
            Step::Complete => "case_completed",
        }
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

/// A step and the steps it waits for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlannedStep {
    /// The step.
    pub step: Step,
    /// Steps that must be done first.
    pub after: Vec<Step>,
}

/// The plan of a lockout triggered by an admin or an IdP: everything that removes access
/// runs at once (providers, device lock commands, sessions), then the case completes.
pub fn lockout(provider_ids: &[String]) -> Vec<PlannedStep> {
    let mut access: Vec<Step> = provider_ids
        .iter()
        .cloned()
        .map(Step::RevokeProvider)
        .collect();
    access.push(Step::LockDevices);
    access.push(Step::InvalidateSessions);
    let mut plan: Vec<PlannedStep> = access
        .iter()
        .cloned()
        .map(|step| PlannedStep {
            step,
            after: vec![],
        })
        .collect();
    plan.push(PlannedStep {
        step: Step::Complete,
        after: access,
    });
    plan
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for step in [
            Step::RevokeProvider("openai-main".into()),
            Step::LockDevices,
            Step::InvalidateSessions,
            Step::Complete,
        ] {
            assert_eq!(Step::parse(&step.name()), Some(step));
        }
        assert_eq!(Step::parse("revoke:"), None);
        assert_eq!(Step::parse("snapshot"), None);
    }

    #[test]
    fn a_lockout_completes_after_every_access_step() {
        let plan = lockout(&["openai".into(), "anthropic".into()]);
        assert_eq!(plan.len(), 5);
        let complete = plan
            .iter()
            .find(|p| p.step == Step::Complete)
            .expect("complete");
        assert_eq!(complete.after.len(), 4);
        assert!(
            plan.iter()
                .filter(|p| p.step != Step::Complete)
                .all(|p| p.after.is_empty())
        );
    }
}
