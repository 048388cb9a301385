//! The DAG rules (step 2 of bundle verification).
//!
//! Every node names its parents by (log index, leaf hash). A parent must come earlier
//! in the log, so the graph is acyclic by construction; it must be in the same
//! organisation's log, and its hash must be the hash of the node actually at that index.
//! A case is the sub-DAG rooted at its trigger: exactly one node of the case has no
//! parent inside the case, and every other node of the case descends from it.

use std::collections::BTreeSet;

use crate::merkle::Hash;
use crate::node::EncodedNode;

/// A node of a bundle at its log index.
#[derive(Clone, Copy, Debug)]
pub struct Placed<'a> {
    /// The node's log index.
    pub index: u64,
    /// The decoded node.
    pub node: &'a EncodedNode,
}

/// What the DAG check found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DagSummary {
    /// Parent references checked against a node in the set.
    pub edges_checked: u64,
    /// Parent references to indices before the first node of an open set (an
    /// organisation range that does not start at 0); their hashes are covered by
    /// an earlier export.
    pub edges_before_range: u64,
}

/// A broken DAG rule, with the node and parent involved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DagError {
    /// Nodes are not listed in strictly increasing index order.
    #[error("node {index} follows node {previous}: indices must be strictly increasing")]
    IndexOrder {
        /// The earlier entry.
        previous: u64,
        /// The entry that does not follow it.
        index: u64,
    },
    /// A node belongs to another organisation's log.
    #[error("node {index} belongs to org `{actual}`, not `{expected}`")]
    OrgMismatch {
        /// The node.
        index: u64,
        /// The organisation of the log.
        expected: String,
        /// The organisation the node names.
        actual: String,
    },
    /// A parent index is not smaller than the node's own.
    #[error("node {index} lists parent {parent}, which is not earlier in the log")]
    ParentNotEarlier {
        /// The node.
        index: u64,
        /// The parent index it lists.
        parent: u64,
    },
    /// A parent that must be in the set is not.
    #[error("node {index} lists parent {parent}, which is not in the bundle")]
    ParentMissing {
        /// The node.
        index: u64,
        /// The missing parent index.
        parent: u64,
    },
    /// The listed parent hash differs from the hash of the node at that index.
    #[error("node {index} lists parent {parent} with hash {}, but that node's hash is {}", hex::encode(.expected), hex::encode(.actual))]
    ParentHashMismatch {
        /// The node.
        index: u64,
        /// The parent index.
        parent: u64,
        /// The hash the child lists.
        expected: Hash,
        /// The hash of the node at the parent index.
        actual: Hash,
    },
    /// The case has no node, or more than one node without a parent in the case.
    #[error("case `{case_id}` must have exactly one root node; found {roots:?}")]
    CaseRoots {
        /// The case.
        case_id: String,
        /// Indices of the case's nodes that have no parent in the case.
        roots: Vec<u64>,
    },
    /// A node in a case bundle is neither in the case nor an ancestor of a case node.
    #[error("node {index} is neither part of case `{case_id}` nor an ancestor of one of its nodes")]
    OutsideCase {
        /// The node.
        index: u64,
        /// The case of the bundle.
        case_id: String,
    },
}

/// Checks the DAG rules over `nodes`, sorted by index. When `closed`, every parent must
/// be in the set; otherwise parents before the first node are allowed and counted.
pub fn check(nodes: &[Placed<'_>], org: &str, closed: bool) -> Result<DagSummary, DagError> {
    let mut summary = DagSummary::default();
    for pair in nodes.windows(2) {
        if let [a, b] = pair
            && a.index >= b.index
        {
            return Err(DagError::IndexOrder {
                previous: a.index,
                index: b.index,
            });
        }
    }
    let first = nodes.first().map_or(0, |p| p.index);
    for placed in nodes {
        let node = placed.node.node();
        if node.org != org {
            return Err(DagError::OrgMismatch {
                index: placed.index,
                expected: org.to_owned(),
                actual: node.org.clone(),
            });
        }
        for parent in &node.parents {
            if parent.index >= placed.index {
                return Err(DagError::ParentNotEarlier {
                    index: placed.index,
                    parent: parent.index,
                });
            }
            match find(nodes, parent.index) {
                Some(found) if found.node.leaf_hash() != parent.hash => {
                    return Err(DagError::ParentHashMismatch {
                        index: placed.index,
                        parent: parent.index,
                        expected: parent.hash,
                        actual: found.node.leaf_hash(),
                    });
                }
                Some(_) => summary.edges_checked += 1,
                None if !closed && parent.index < first => summary.edges_before_range += 1,
                None => {
                    return Err(DagError::ParentMissing {
                        index: placed.index,
                        parent: parent.index,
                    });
                }
            }
        }
    }
    Ok(summary)
}

/// Checks the case rules over a closed set: exactly one root among the case's nodes,
/// every case node descends from it, and every other node is an ancestor of a case node.
pub fn check_case(nodes: &[Placed<'_>], case_id: &str) -> Result<(), DagError> {
    let in_case = |p: &Placed<'_>| p.node.node().case_id.as_deref() == Some(case_id);
    let case_indices: BTreeSet<u64> = nodes
        .iter()
        .filter(|p| in_case(p))
        .map(|p| p.index)
        .collect();
    let roots: Vec<u64> = nodes
        .iter()
        .filter(|p| in_case(p))
        .filter(|p| {
            !p.node
                .node()
                .parents
                .iter()
                .any(|r| case_indices.contains(&r.index))
        })
        .map(|p| p.index)
        .collect();
    if roots.len() != 1 {
        return Err(DagError::CaseRoots {
            case_id: case_id.to_owned(),
            roots,
        });
    }
    // Ancestors of the case: walk parents from the newest node down (parents are earlier).
    let mut needed: BTreeSet<u64> = case_indices.clone();
    for placed in nodes.iter().rev() {
        if !needed.contains(&placed.index) {
            return Err(DagError::OutsideCase {
                index: placed.index,
                case_id: case_id.to_owned(),
            });
        }
        needed.extend(placed.node.node().parents.iter().map(|r| r.index));
    }
    Ok(())
}

fn find<'a, 'b>(nodes: &'b [Placed<'a>], index: u64) -> Option<&'b Placed<'a>> {
    nodes
        .binary_search_by_key(&index, |p| p.index)
        .ok()
        .and_then(|i| nodes.get(i))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::tests::sample;
    use crate::node::{EncodedNode, ParentRef};

    fn chain(len: usize) -> Vec<EncodedNode> {
        let mut out: Vec<EncodedNode> = Vec::new();
        for i in 0..len {
            let parents = out
                .last()
                .map(|p| {
                    vec![ParentRef {
                        index: i as u64 - 1,
                        hash: p.leaf_hash(),
                    }]
                })
                .unwrap_or_default();
            out.push(
                sample(
                    if i == 0 {
                        "termination_detected"
                    } else {
                        "provider_revoked"
                    },
                    parents,
                )
                .encode()
                .expect("encodes"),
            );
        }
        out
    }

    fn placed(nodes: &[EncodedNode], first: u64) -> Vec<Placed<'_>> {
        nodes
            .iter()
            .enumerate()
            .map(|(i, node)| Placed {
                index: first + i as u64,
                node,
            })
            .collect()
    }

    #[test]
    fn a_chain_is_a_valid_case() {
        let nodes = chain(4);
        let set = placed(&nodes, 0);
        assert_eq!(
            check(&set, "acme", true),
            Ok(DagSummary {
                edges_checked: 3,
                edges_before_range: 0
            })
        );
        assert_eq!(check_case(&set, "case-7"), Ok(()));
    }

    #[test]
    fn broken_rules_are_named() {
        let nodes = chain(3);
        let set = placed(&nodes, 0);
        assert!(matches!(
            check(&set, "other", true),
            Err(DagError::OrgMismatch { index: 0, .. })
        ));
        assert!(matches!(
            check(&set[1..], "acme", true),
            Err(DagError::ParentMissing {
                index: 1,
                parent: 0
            })
        ));
        assert_eq!(
            check(&placed(&nodes[1..], 1), "acme", false).map(|s| s.edges_before_range),
            Ok(1)
        );
        let swapped = vec![set[0], set[2], set[1]];
        assert!(matches!(
            check(&swapped, "acme", true),
            Err(DagError::IndexOrder {
                previous: 2,
                index: 1
            })
        ));

        let forged = sample(
            "provider_revoked",
            vec![ParentRef {
                index: 0,
                hash: [0; 32],
            }],
        )
        .encode()
        .expect("encodes");
        let set = vec![
            Placed {
                index: 0,
                node: &nodes[0],
            },
            Placed {
                index: 1,
                node: &forged,
            },
        ];
        assert!(matches!(
            check(&set, "acme", true),
            Err(DagError::ParentHashMismatch {
                index: 1,
                parent: 0,
                ..
            })
        ));

        let ahead = sample(
            "provider_revoked",
            vec![ParentRef {
                index: 5,
                hash: [0; 32],
            }],
        )
        .encode()
        .expect("encodes");
        let set = vec![
            Placed {
                index: 0,
                node: &nodes[0],
            },
            Placed {
                index: 1,
                node: &ahead,
            },
        ];
        assert!(matches!(
            check(&set, "acme", true),
            Err(DagError::ParentNotEarlier {
                index: 1,
                parent: 5
            })
        ));
    }

    #[test]
    fn a_case_has_one_root_and_nothing_unrelated() {
        let nodes = chain(2);
        let stray = sample("termination_detected", vec![])
            .encode()
            .expect("encodes");
        let set = vec![
            Placed {
                index: 0,
                node: &nodes[0],
            },
            Placed {
                index: 1,
                node: &nodes[1],
            },
            Placed {
                index: 2,
                node: &stray,
            },
        ];
        assert!(
            matches!(check_case(&set, "case-7"), Err(DagError::CaseRoots { roots, .. }) if roots == vec![0, 2])
        );
        let mut other = sample("legal_hold", vec![]);
        other.case_id = Some("case-8".into());
        let other = other.encode().expect("encodes");
        let set = vec![
            Placed {
                index: 0,
                node: &nodes[0],
            },
            Placed {
                index: 1,
                node: &nodes[1],
            },
            Placed {
                index: 2,
                node: &other,
            },
        ];
        assert!(matches!(
            check_case(&set, "case-7"),
            Err(DagError::OutsideCase { index: 2, .. })
        ));
        assert!(matches!(
            check_case(&set, "case-9"),
            Err(DagError::CaseRoots { .. })
        ));
    }
}
