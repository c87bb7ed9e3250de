//! `load_config` honours the standard endpoint variables: `AWS_ENDPOINT_URL` for IAM and STS,
//! `AWS_ENDPOINT_URL_EKS` for EKS (here the fake EKS in front of moto). Its own test binary,
//! with one test, because it sets process environment variables.

use irsa_aws::{Clients, ObserveRequest, Options, load_config, observe};
use testkit::fake_eks::FakeEks;
use testkit::moto::MotoServer;

#[tokio::test]
async fn endpoint_variables_are_honoured() {
    let moto = MotoServer::start().unwrap();
    let fake = FakeEks::start(&moto.endpoint()).unwrap();
    let vars = [
        ("AWS_ENDPOINT_URL", moto.endpoint()),
        ("AWS_ENDPOINT_URL_EKS", fake.endpoint()),
        ("AWS_ACCESS_KEY_ID", "testing".to_string()),
        ("AWS_SECRET_ACCESS_KEY", "testing".to_string()),
        ("AWS_REGION", "us-east-1".to_string()),
        // Nothing beyond loopback: no instance metadata, no profile files.
        ("AWS_EC2_METADATA_DISABLED", "true".to_string()),
        ("AWS_CONFIG_FILE", "/dev/null".to_string()),
        ("AWS_SHARED_CREDENTIALS_FILE", "/dev/null".to_string()),
    ];
    for (key, value) in vars {
        // SAFETY: this test binary has this one test; no other thread reads the environment yet.
        unsafe { std::env::set_var(key, value) };
    }
    unsafe { std::env::remove_var("AWS_PROFILE") };
    let clients = Clients::from_conf(
        &load_config().await,
        Options {
            max_attempts: 1,
            ..Options::default()
        },
    );
    // Creating a cluster through the EKS endpoint (the fake forwards it to moto) proves that
    // AWS_ENDPOINT_URL_EKS is used; observing its add-on needs the fake itself.
    let vpc = aws_sdk_eks::types::VpcConfigRequest::builder()
        .subnet_ids("subnet-1")
        .build();
    clients
        .eks
        .create_cluster()
        .name("env")
        .role_arn("arn:aws:iam::123456789012:role/eks")
        .resources_vpc_config(vpc)
        .send()
        .await
        .unwrap();
    let role = "arn:aws:iam::123456789012:role/r";
    clients
        .eks
        .create_addon()
        .cluster_name("env")
        .addon_name("aws-ebs-csi-driver")
        .service_account_role_arn(role)
        .send()
        .await
        .unwrap();
    let snapshot = observe(
        &clients,
        &ObserveRequest {
            cluster: "env".into(),
            addon_names: vec!["aws-ebs-csi-driver".into()],
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(snapshot.account, "123456789012");
    assert!(snapshot.cluster.is_some());
    assert_eq!(
        snapshot.addons[0].service_account_role_arn.as_deref(),
        Some(role)
    );
    assert_eq!(
        fake.addon_role_arn("env", "aws-ebs-csi-driver").as_deref(),
        Some(role)
    );
}
