//! The store of EKS Pod Identity associations, one per namespace and service account of a
//! cluster, with the ids and ARNs EKS mints (`a-` and 17 characters;
//! `arn:…:eks:<region>:<account>:podidentityassociation/<cluster>/<id>`) and the JSON objects
//! the API answers (`PodIdentityAssociation`, `PodIdentityAssociationSummary`).
//!
//! [`Associations`] is the port other fakes read: the fake cluster's webhook (which pods get
//! container credentials) and the fake EKS Auth (which role a token maps to); tests plant
//! associations through it that the API would not make for them.

use std::sync::{Arc, Mutex};

use serde_json::{Map, Value, json};

use crate::aws_wire::{arn_partition_account, epoch_now};

/// At most this many tags per association.
pub const MAX_TAGS: usize = 50;

/// At most this many associations per cluster (not raisable).
pub const MAX_ASSOCIATIONS: usize = 5000;

/// One association, as EKS stores it.
#[derive(Debug, Clone, PartialEq)]
pub struct Association {
    pub cluster: String,
    pub namespace: String,
    pub service_account: String,
    pub role_arn: String,
    pub target_role_arn: Option<String>,
    pub external_id: Option<String>,
    pub disable_session_tags: bool,
    pub policy: Option<String>,
    pub tags: Map<String, Value>,
    pub id: String,
    pub arn: String,
    /// The cluster's ARN (for the session tag `eks-cluster-arn`).
    pub cluster_arn: String,
    /// Set when an EKS add-on owns the association.
    pub owner_arn: Option<String>,
    /// The `clientRequestToken` of its create: a retried create with it answers this association.
    pub client_request_token: Option<String>,
    pub created_at: f64,
    pub modified_at: f64,
}

impl Association {
    /// A new association of `cluster_arn` (ids as EKS mints them: `a-` and 17 characters).
    pub fn new(
        cluster_arn: &str,
        namespace: &str,
        service_account: &str,
        role_arn: &str,
    ) -> Association {
        let cluster = cluster_arn
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .to_string();
        let id = association_id();
        let now = epoch_now();
        Association {
            arn: format!(
                "{}/{cluster}/{id}",
                cluster_arn.replacen(&format!(":cluster/{cluster}"), ":podidentityassociation", 1)
            ),
            cluster,
            namespace: namespace.to_string(),
            service_account: service_account.to_string(),
            role_arn: role_arn.to_string(),
            target_role_arn: None,
            external_id: None,
            disable_session_tags: false,
            policy: None,
            tags: Map::new(),
            id,
            cluster_arn: cluster_arn.to_string(),
            owner_arn: None,
            client_request_token: None,
            created_at: now,
            modified_at: now,
        }
    }

    /// Sets the target role and the external id that goes with it.
    pub(super) fn set_target_role(&mut self, target: Option<String>) {
        self.external_id = target.as_ref().map(|_| {
            let region = self.cluster_arn.split(':').nth(3).unwrap_or_default();
            let account = arn_partition_account(&self.cluster_arn)
                .map(|(_, a)| a)
                .unwrap_or_default();
            format!(
                "{region}/{account}/{}/{}/{}",
                self.cluster, self.namespace, self.service_account
            )
        });
        self.target_role_arn = target;
    }

    /// The `PodIdentityAssociation` object.
    pub fn to_json(&self) -> Value {
        let mut value = json!({
            "clusterName": self.cluster,
            "namespace": self.namespace,
            "serviceAccount": self.service_account,
            "roleArn": self.role_arn,
            "associationArn": self.arn,
            "associationId": self.id,
            "tags": self.tags,
            "createdAt": self.created_at,
            "modifiedAt": self.modified_at,
            "disableSessionTags": self.disable_session_tags,
        });
        for (key, field) in [
            ("ownerArn", &self.owner_arn),
            ("targetRoleArn", &self.target_role_arn),
            ("externalId", &self.external_id),
            ("policy", &self.policy),
        ] {
            if let Some(v) = field {
                value[key] = json!(v);
            }
        }
        value
    }

    /// The `PodIdentityAssociationSummary` (no roleArn).
    pub fn to_summary(&self) -> Value {
        let mut value = json!({
            "clusterName": self.cluster,
            "namespace": self.namespace,
            "serviceAccount": self.service_account,
            "associationArn": self.arn,
            "associationId": self.id,
        });
        if let Some(owner) = &self.owner_arn {
            value["ownerArn"] = json!(owner);
        }
        value
    }
}

/// `a-` and 17 lowercase letters and digits, unique within the process.
fn association_id() -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let seed = crate::aws_wire::new_id();
    let mut h = crate::fake_kube::store::fnv1a(seed.as_bytes());
    let mut id = String::from("a-");
    for _ in 0..17 {
        id.push(ALPHABET[(h % 36) as usize] as char);
        h = (h / 36) ^ h.rotate_left(17).wrapping_mul(0x100000001b3);
    }
    id
}

/// The associations of every cluster: the port the fake cluster's webhook and the fake EKS
/// Auth read, and tests write through (foreign or add-on-owned associations).
#[derive(Debug, Clone, Default)]
pub struct Associations(Arc<Mutex<Vec<Association>>>);

impl Associations {
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Association>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The association of this service account, if any.
    pub fn find(
        &self,
        cluster: &str,
        namespace: &str,
        service_account: &str,
    ) -> Option<Association> {
        self.lock()
            .iter()
            .find(|a| {
                a.cluster == cluster
                    && a.namespace == namespace
                    && a.service_account == service_account
            })
            .cloned()
    }

    /// The association with this id in the cluster.
    pub fn get(&self, cluster: &str, id: &str) -> Option<Association> {
        self.lock()
            .iter()
            .find(|a| a.cluster == cluster && a.id == id)
            .cloned()
    }

    /// Every association of the cluster, oldest first.
    pub fn of_cluster(&self, cluster: &str) -> Vec<Association> {
        self.lock()
            .iter()
            .filter(|a| a.cluster == cluster)
            .cloned()
            .collect()
    }

    /// Adds an association unless its service account has one (then the existing one is the error).
    pub fn insert(&self, association: Association) -> Result<Association, Association> {
        let mut all = self.lock();
        if let Some(existing) = all.iter().find(|a| {
            a.cluster == association.cluster
                && a.namespace == association.namespace
                && a.service_account == association.service_account
        }) {
            return Err(existing.clone());
        }
        all.push(association.clone());
        Ok(association)
    }

    /// Applies `f` to the association and answers it changed.
    pub fn update(
        &self,
        cluster: &str,
        id: &str,
        f: impl FnOnce(&mut Association),
    ) -> Option<Association> {
        let mut all = self.lock();
        let association = all
            .iter_mut()
            .find(|a| a.cluster == cluster && a.id == id)?;
        f(association);
        Some(association.clone())
    }

    /// Removes the association; answers it.
    pub fn remove(&self, cluster: &str, id: &str) -> Option<Association> {
        let mut all = self.lock();
        let index = all
            .iter()
            .position(|a| a.cluster == cluster && a.id == id)?;
        Some(all.remove(index))
    }

    /// Removes every association the add-on owns; answers them.
    pub fn remove_owned_by(&self, owner_arn: &str) -> Vec<Association> {
        let mut all = self.lock();
        let (owned, kept) = all
            .drain(..)
            .partition(|a| a.owner_arn.as_deref() == Some(owner_arn));
        *all = kept;
        owned
    }

    /// Plants an association EKS would not create through the API for a test: another owner's
    /// (`tags`), an add-on's (`owner_arn`), or one whose role does not exist. The service account
    /// must have none yet.
    pub fn plant(
        &self,
        cluster_arn: &str,
        namespace: &str,
        service_account: &str,
        role_arn: &str,
        tags: &[(&str, &str)],
        owner_arn: Option<&str>,
    ) -> Association {
        let mut association = Association::new(cluster_arn, namespace, service_account, role_arn);
        association.tags = tags
            .iter()
            .map(|(k, v)| (k.to_string(), json!(v)))
            .collect();
        association.owner_arn = owner_arn.map(str::to_string);
        self.insert(association).unwrap_or_else(|existing| {
            panic!("{namespace}/{service_account} already has {}", existing.arn)
        })
    }

    /// The association a create with this `clientRequestToken` made, if it still exists.
    pub(super) fn by_request_token(&self, cluster: &str, token: &str) -> Option<Association> {
        self.lock()
            .iter()
            .find(|a| a.cluster == cluster && a.client_request_token.as_deref() == Some(token))
            .cloned()
    }

    /// The ARNs of the associations the add-on owns.
    pub fn owned_by(&self, owner_arn: &str) -> Vec<String> {
        self.lock()
            .iter()
            .filter(|a| a.owner_arn.as_deref() == Some(owner_arn))
            .map(|a| a.arn.clone())
            .collect()
    }

    pub(super) fn by_arn(&self, arn: &str) -> Option<Association> {
        self.lock().iter().find(|a| a.arn == arn).cloned()
    }

    pub(super) fn update_by_arn(
        &self,
        arn: &str,
        f: impl FnOnce(&mut Association),
    ) -> Option<Association> {
        let mut all = self.lock();
        let association = all.iter_mut().find(|a| a.arn == arn)?;
        f(association);
        Some(association.clone())
    }
}
