//! The EKS Pod Identity steps and reads against the testkit's fake EKS (associations, with the
//! real REST paths, members and errors) in front of moto's IAM: a duplicate create (409
//! ResourceInUseException) of irsa's own association converges to the step's values, one of
//! another owner fails as AlreadyExists, a delete of one already gone succeeds, and the reads
//! describe only the associations in scope.

use irsa_aws::pod_identity::{AssociationScope, read_associations};
use irsa_aws::{Clients, ErrorKind, Options, execute};
use irsa_core::identity::{Mechanism, PodIdentity, TrustTarget};
use irsa_core::snapshot::Tags;
use irsa_core::steps::Step;
use testkit::fake_eks::FakeEks;
use testkit::moto::MotoServer;

mod common;

const ACCOUNT: &str = "123456789012";
const CLUSTER_ARN: &str = "arn:aws:eks:us-east-1:123456789012:cluster/demo";

struct World {
    clients: Clients,
    fake: FakeEks,
    _moto: MotoServer,
    runtime: tokio::runtime::Runtime,
}

fn world() -> World {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let moto = MotoServer::start().expect("moto starts");
    runtime
        .block_on(testkit::seed::create_cluster(
            &moto.endpoint(),
            "demo",
            "us-east-1",
        ))
        .expect("cluster created");
    let fake = FakeEks::start(&moto.endpoint()).expect("fake EKS starts");
    let options = Options {
        consistency_timeout: std::time::Duration::from_millis(300),
        eks_endpoint_url: Some(fake.endpoint()),
        ..Options::default()
    };
    let clients = common::clients_for(&moto.endpoint(), options);
    let world = World {
        clients,
        fake,
        _moto: moto,
        runtime,
    };
    for name in ["one", "two"] {
        world.run(role_step(name)).unwrap();
    }
    world
}

impl World {
    fn run(&self, step: Step) -> Result<(), irsa_aws::AwsError> {
        self.runtime
            .block_on(execute(&self.clients, &step, &|_| {}))
    }

    fn associations(&self) -> Vec<irsa_core::snapshot::PodIdentityAssociation> {
        self.runtime
            .block_on(read_associations(
                &self.clients,
                "demo",
                &AssociationScope::All,
            ))
            .unwrap()
    }
}

fn role_arn(name: &str) -> String {
    format!("arn:aws:iam::{ACCOUNT}:role/{name}")
}

fn role_step(name: &str) -> Step {
    let trust = Mechanism::PodIdentity(PodIdentity::default())
        .trust_policy(
            &TrustTarget {
                partition: "aws",
                account: ACCOUNT,
                region: "us-east-1",
                cluster_name: "demo",
                issuer_url: None,
            },
            "apps",
            "web",
        )
        .unwrap();
    Step::CreateRole {
        name: name.into(),
        path: "/".into(),
        trust_policy: trust,
        permissions_boundary: None,
        tags: Tags::new(),
    }
}

fn irsa_tags() -> Tags {
    irsa_core::desired::ownership_tags("demo")
}

fn create(service_account: &str, role: &str) -> Step {
    Step::CreatePodIdentityAssociation {
        cluster: "demo".into(),
        namespace: "apps".into(),
        service_account: service_account.into(),
        role_arn: role_arn(role),
        target_role_arn: None,
        disable_session_tags: false,
        policy: None,
        tags: irsa_tags(),
    }
}

#[test]
fn a_duplicate_create_of_irsas_association_converges() {
    let w = world();
    w.run(create("web", "one")).unwrap();
    let first = w.associations();
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].role_arn, role_arn("one"));
    assert_eq!(
        first[0].tags.get("irsa.dev/managed-by").map(String::as_str),
        Some("irsa")
    );
    // A run killed after CreatePodIdentityAssociation plans it again, with another role now.
    w.run(create("web", "two")).unwrap();
    let after = w.associations();
    assert_eq!(after.len(), 1, "{after:#?}");
    assert_eq!(after[0].association_id, first[0].association_id);
    assert_eq!(after[0].role_arn, role_arn("two"));
}

#[test]
fn a_duplicate_of_another_owner_is_already_exists() {
    let w = world();
    w.fake.associations().plant(
        CLUSTER_ARN,
        "apps",
        "web",
        &role_arn("one"),
        &[("team", "x")],
        None,
    );
    let err = w.run(create("web", "two")).unwrap_err();
    assert_eq!(err.kind, ErrorKind::AlreadyExists, "{err}");
    // Nothing was changed.
    assert_eq!(w.associations()[0].role_arn, role_arn("one"));
}

#[test]
fn update_tag_and_delete_twice() {
    let w = world();
    w.run(create("web", "one")).unwrap();
    let a = w.associations().remove(0);
    w.run(Step::UpdatePodIdentityAssociation {
        cluster: "demo".into(),
        association_id: a.association_id.clone(),
        role_arn: role_arn("two"),
        target_role_arn: Some(role_arn("one")),
        disable_session_tags: true,
        policy: Some(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}"#.into()),
    })
    .unwrap();
    w.run(Step::TagPodIdentityAssociation {
        association_arn: a.association_arn.clone(),
        tags: [("owner".to_string(), "platform".to_string())].into(),
    })
    .unwrap();
    let updated = w.associations().remove(0);
    assert_eq!(updated.role_arn, role_arn("two"));
    assert_eq!(updated.target_role_arn, Some(role_arn("one")));
    assert!(updated.disable_session_tags);
    assert!(updated.policy.as_deref().unwrap().contains("s3:GetObject"));
    assert_eq!(
        updated.tags.get("owner").map(String::as_str),
        Some("platform")
    );
    // Removing the target role and the session policy.
    w.run(Step::UpdatePodIdentityAssociation {
        cluster: "demo".into(),
        association_id: a.association_id.clone(),
        role_arn: role_arn("two"),
        target_role_arn: None,
        disable_session_tags: false,
        policy: None,
    })
    .unwrap();
    let cleared = w.associations().remove(0);
    assert_eq!(cleared.target_role_arn, None);
    assert_eq!(cleared.policy, None);
    let delete = Step::DeletePodIdentityAssociation {
        cluster: "demo".into(),
        association_id: a.association_id,
    };
    w.run(delete.clone()).unwrap();
    w.run(delete).unwrap();
    assert!(w.associations().is_empty());
}

#[test]
fn reads_describe_only_the_associations_in_scope() {
    let w = world();
    w.run(create("web", "one")).unwrap();
    w.run(create("jobs", "two")).unwrap();
    let before = w.clients.stats();
    let scope = AssociationScope::Subjects([("apps".to_string(), "jobs".to_string())].into());
    let found = w
        .runtime
        .block_on(read_associations(&w.clients, "demo", &scope))
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].service_account, "jobs");
    // One list page and one describe.
    assert_eq!(w.clients.stats().api_calls - before.api_calls, 2);
    // A cluster EKS does not know has none.
    let none = w
        .runtime
        .block_on(read_associations(
            &w.clients,
            "nope",
            &AssociationScope::All,
        ))
        .unwrap();
    assert!(none.is_empty());
}
