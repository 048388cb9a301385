//! Sorting the role assignments that apply to a leaver by what revoking each takes.

use std::collections::BTreeMap;

use super::{Assignment, within};
use crate::providers::config::is_guid;

/// The role assignments that apply to the principal, by what revoking them takes.
#[derive(Default)]
pub(super) struct Grants {
    /// The principal's own, within a configured scope: deleted.
    pub(super) direct: Vec<Assignment>,
    /// Groups with an assignment within a configured scope, by lower-case id (the id
    /// as ARM gave it): the principal leaves them.
    pub(super) groups: BTreeMap<String, String>,
    /// Ids of assignments above every configured scope: not ours to remove.
    pub(super) above: Vec<String>,
    /// Assignments within scope held by a principal that is neither the user nor a
    /// group it can leave (a foreign group, no principal id), with its type.
    pub(super) foreign: Vec<String>,
}

impl Grants {
    pub(super) fn sort(
        found: impl IntoIterator<Item = Assignment>,
        principal: &str,
        scopes: &[String],
    ) -> Self {
        let mut grants = Grants::default();
        for a in found {
            let p = &a.properties;
            let holder = p.principal_id.as_deref().unwrap_or_default();
            if !scopes.iter().any(|s| within(&p.scope, s)) {
                grants.above.push(a.id);
            } else if holder.eq_ignore_ascii_case(principal) {
                grants.direct.push(a);
            } else if p.principal_type.as_deref() == Some("Group") && is_guid(holder) {
                grants
                    .groups
                    .entry(holder.to_ascii_lowercase())
                    .or_insert_with(|| holder.to_owned());
            } else {
                let kind = p
                    .principal_type
                    .as_deref()
                    .unwrap_or("unknown principal type");
                grants.foreign.push(format!("{} ({kind})", a.id));
            }
        }
        grants
    }

    /// What keeps access that this client does not remove.
    pub(super) fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if !self.above.is_empty() {
            problems.push(format!(
                "{} role assignment(s) above the configured scopes, which still grant access: [{}]",
                self.above.len(),
                self.above.join(", ")
            ));
        }
        if !self.foreign.is_empty() {
            problems.push(format!(
                "role assignment(s) held through principals it cannot be taken out of: [{}]",
                self.foreign.join(", ")
            ));
        }
        problems
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::azure::AssignmentProperties;

    #[test]
    fn grants_sort_by_what_revoking_them_takes() {
        let user = "ce2ce14e-85d7-4629-bdbc-454d0519d987";
        let group = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f00000001";
        let sub = "/subscriptions/a925f2f7";
        let rg = "/subscriptions/a925f2f7/resourceGroups/rg";
        let assignment =
            |name: &str, scope: &str, holder: Option<&str>, kind: Option<&str>| Assignment {
                id: format!("{scope}/providers/Microsoft.Authorization/roleAssignments/{name}"),
                properties: AssignmentProperties {
                    scope: scope.into(),
                    principal_id: holder.map(str::to_owned),
                    principal_type: kind.map(str::to_owned),
                },
            };
        let found = [
            assignment("own", rg, Some(&user.to_uppercase()), Some("User")),
            assignment("group-1", rg, Some(group), Some("Group")),
            assignment(
                "group-2",
                &format!("{rg}/x"),
                Some(&group.to_uppercase()),
                Some("Group"),
            ),
            assignment("above", sub, Some(user), Some("User")),
            assignment("group-above", sub, Some(group), Some("Group")),
            assignment("foreign", rg, Some(group), Some("ForeignGroup")),
            assignment("odd-group", rg, Some("not-a-guid"), Some("Group")),
            assignment("nobody", rg, None, None),
        ];
        let grants = Grants::sort(found, user, &[rg.to_owned()]);
        let direct: Vec<&str> = grants.direct.iter().map(|a| a.id.as_str()).collect();
        assert_eq!(direct.len(), 1);
        assert!(direct[0].ends_with("/own"));
        let groups: Vec<&String> = grants.groups.values().collect();
        assert_eq!(
            groups,
            [group],
            "one removal per group, its assignments never deleted"
        );
        assert_eq!(grants.above.len(), 2);
        assert_eq!(grants.foreign.len(), 3);
        let problems = grants.problems().join("; ");
        for words in [
            "above the configured scopes",
            "(ForeignGroup)",
            "(unknown principal type)",
        ] {
            assert!(problems.contains(words), "{problems}");
        }
    }
}
