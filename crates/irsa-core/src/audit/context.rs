//! What the audit knows besides the authorization details: the known clusters and their OIDC
//! issuers, the account's OIDC provider ARNs, the CloudTrail trails of the audited region, the
//! EKS Pod Identity associations of the named clusters, the current time, the unused-role threshold and the required tag keys. `None` means "not known"
//! (a snapshot file alone lists no providers and no trails): the checks that need it report
//! that they could not run instead of guessing.

use std::collections::{BTreeMap, HashSet};

use crate::snapshot::PodIdentityAssociation;

/// An EKS cluster and its issuer (host and path, without `https://`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownCluster {
    pub name: String,
    pub issuer: String,
}

impl KnownCluster {
    /// `issuer_url` may carry `https://` and a trailing slash.
    pub fn new(name: impl Into<String>, issuer_url: &str) -> KnownCluster {
        KnownCluster {
            name: name.into(),
            issuer: crate::snapshot::issuer_host_path(issuer_url).to_string(),
        }
    }
}

/// One trail as `DescribeTrails` and `GetTrailStatus` describe it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrailState {
    pub name: String,
    pub arn: String,
    pub home_region: String,
    pub multi_region: bool,
    pub logging: bool,
}

/// The trails seen from `region` (shadow copies of other regions' multi-region trails included).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloudTrailStatus {
    pub region: String,
    pub trails: Vec<TrailState>,
}

impl CloudTrailStatus {
    /// A trail records events of `region` when it is logging and is multi-region or lives there.
    pub fn logging_trail(&self) -> Option<&TrailState> {
        self.trails
            .iter()
            .find(|t| t.logging && (t.multi_region || t.home_region == self.region))
    }
}

/// Everything the audit knows besides the dump.
#[derive(Debug, Clone, Default)]
pub struct AuditContext {
    /// Known clusters; `None` when not known (snapshot without `--cluster NAME=ISSUER_URL`).
    pub clusters: Option<Vec<KnownCluster>>,
    /// The audited region: EKS issuers of this region (and of the known clusters' regions) are
    /// judged against the known clusters; issuers of other regions are not.
    pub region: Option<String>,
    /// The account's IAM OIDC provider ARNs; `None` when not listed.
    pub oidc_provider_arns: Option<Vec<String>>,
    /// CloudTrail in the audited region; `None` when not observed.
    pub cloudtrail: Option<CloudTrailStatus>,
    /// Cluster name → its EKS Pod Identity associations (described); `None` when not read (a
    /// snapshot, or a live audit without `--cluster`).
    pub pod_identity_associations: Option<BTreeMap<String, Vec<PodIdentityAssociation>>>,
    /// Now, in milliseconds since the epoch; `None` skips the unused-role check.
    pub now_ms: Option<i64>,
    /// Roles unused for more days than this are reported.
    pub unused_days: u32,
    /// Tag keys every role and customer-managed policy must carry.
    pub required_tags: Vec<String>,
}

impl AuditContext {
    /// The regions whose EKS issuers the cluster list speaks for.
    pub(crate) fn cluster_regions(&self) -> HashSet<&str> {
        let mut regions: HashSet<&str> = self
            .clusters
            .iter()
            .flatten()
            .filter_map(|c| eks_issuer_region(&c.issuer))
            .collect();
        regions.extend(self.region.as_deref());
        regions
    }
}

/// The region of an EKS issuer (`oidc.eks.<region>.amazonaws.com/id/<ID>`, also `.com.cn`);
/// `None` for other issuers.
pub fn eks_issuer_region(issuer: &str) -> Option<&str> {
    let host = issuer.split('/').next()?;
    let rest = host.strip_prefix("oidc.eks.")?;
    let (region, domain) = rest.split_once('.')?;
    (domain.starts_with("amazonaws.com") && issuer[host.len()..].starts_with("/id/"))
        .then_some(region)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eks_issuers_and_their_region() {
        assert_eq!(
            eks_issuer_region("oidc.eks.eu-west-1.amazonaws.com/id/ABC"),
            Some("eu-west-1")
        );
        assert_eq!(
            eks_issuer_region("oidc.eks.cn-north-1.amazonaws.com.cn/id/ABC"),
            Some("cn-north-1")
        );
        assert_eq!(
            eks_issuer_region("token.actions.githubusercontent.com"),
            None
        );
        assert_eq!(
            eks_issuer_region("oidc.eks.us-east-1.example.com/id/X"),
            None
        );
    }

    #[test]
    fn trail_coverage() {
        let trail = |home: &str, multi, logging| TrailState {
            name: "t".into(),
            arn: "arn".into(),
            home_region: home.into(),
            multi_region: multi,
            logging,
        };
        let status = |trails| CloudTrailStatus {
            region: "us-east-1".into(),
            trails,
        };
        assert!(
            status(vec![trail("us-east-1", false, true)])
                .logging_trail()
                .is_some()
        );
        assert!(
            status(vec![trail("eu-west-1", true, true)])
                .logging_trail()
                .is_some()
        );
        assert!(
            status(vec![trail("eu-west-1", false, true)])
                .logging_trail()
                .is_none()
        );
        assert!(
            status(vec![trail("us-east-1", true, false)])
                .logging_trail()
                .is_none()
        );
        assert!(status(vec![]).logging_trail().is_none());
    }
}
