//! The running side of the chain: pods carry the credentials the pod-identity webhook injects
//! only if they started after the annotation was set (else a restart is needed), and an EKS
//! add-on's service account gets its role from the add-on's `serviceAccountRoleArn`, which must be
//! ACTIVE and name the same role; a controller Deployment must run as the annotated service
//! account.

use super::rules::*;
use super::{DoctorInput, Finding, FixAction, RoleFacts, Subject, WorkloadFacts};
use crate::steps::{AddonIdentity, Step};

pub(crate) fn check_pods(input: &DoctorInput<'_>, subject: &Subject, out: &mut Vec<Finding>) {
    restart_stale(
        input,
        subject,
        &PODS_WITHOUT_CREDENTIALS,
        |w| w.pods_without_credentials,
        "started before the current role annotation and run without its credentials (the webhook injects them only at pod creation)",
        out,
    );
}

/// One finding per workload of the subject with pods that `stale` counts, each with the restart
/// that recreates them; `why` says what those pods lack.
pub(crate) fn restart_stale(
    input: &DoctorInput<'_>,
    subject: &Subject,
    rule: &Rule,
    stale: fn(&WorkloadFacts) -> usize,
    why: &str,
    out: &mut Vec<Finding>,
) {
    let key = (subject.namespace.clone(), subject.name.clone());
    for workload in input.workloads.get(&key).into_iter().flatten() {
        let count = stale(workload);
        if count == 0 {
            continue;
        }
        let finding = Finding::new(
            rule,
            Some(subject),
            format!(
                "{}/{}: {count} of {} {why}",
                workload.kind,
                workload.name,
                crate::text::counted(workload.pods, "pod")
            ),
        );
        out.push(with_restart(finding, subject, workload));
    }
}

/// The fix that recreates a workload's pods: delete a bare pod, restart a controller's.
fn with_restart(finding: Finding, subject: &Subject, workload: &WorkloadFacts) -> Finding {
    if workload.kind == "Pod" {
        return finding.fix("delete and recreate the pod").command(format!(
            "kubectl delete pod {} -n {}",
            workload.name, subject.namespace
        ));
    }
    let mut finding = finding.fix("restart the workload").command(format!(
        "kubectl rollout restart {}/{} -n {}",
        workload.kind.to_ascii_lowercase(),
        workload.name,
        subject.namespace
    ));
    finding.fix.action = Some(FixAction::Restart {
        namespace: subject.namespace.clone(),
        workload_kind: workload.kind.clone(),
        workload: workload.name.clone(),
    });
    finding
}

pub(crate) fn check_addon(
    input: &DoctorInput<'_>,
    subject: &Subject,
    role: Option<&RoleFacts>,
    out: &mut Vec<Finding>,
) {
    if let Some(addon_name) = &subject.addon {
        check_addon_state(input, subject, addon_name, role, out);
    }
    if let Some((namespace, deployment)) = &subject.controller {
        let key = (namespace.clone(), deployment.clone());
        if let Some(runs_as) = input.controllers.get(&key)
            && *runs_as != subject.name
        {
            out.push(
                Finding::new(&CONTROLLER_SA, Some(subject), format!("deployment {namespace}/{deployment} runs as service account `{runs_as}`, not `{}`: its pods get another identity (or none)", subject.name))
                    .evidence(format!("spec.template.spec.serviceAccountName: {runs_as}"))
                    .fix("point the controller at the annotated service account (the chart's controller.serviceAccount.name, or reinstall the add-on)")
                    .command(format!("kubectl -n {namespace} set serviceaccount deployment/{deployment} {}", subject.name)),
            );
        }
    }
}

fn check_addon_state(
    input: &DoctorInput<'_>,
    subject: &Subject,
    addon_name: &str,
    role: Option<&RoleFacts>,
    out: &mut Vec<Finding>,
) {
    let cluster = input.cluster;
    let Some(addon) = input.snapshot.addon(addon_name) else {
        out.push(
            Finding::new(&ADDON_MISSING, Some(subject), format!("EKS add-on {addon_name} is not installed on {cluster}"))
                .fix("install it with its role (`irsa apply` for the preset does)")
                .command(format!("aws eks create-addon --cluster-name {cluster} --addon-name {addon_name} --service-account-role-arn <role-arn>")),
        );
        return;
    };
    if addon.status != "ACTIVE" {
        out.push(
            Finding::new(&ADDON_NOT_ACTIVE, Some(subject), format!("EKS add-on {addon_name} is {}", addon.status))
                .fix("read its health issues and fix them; a failed add-on can be updated again")
                .command(format!("aws eks describe-addon --cluster-name {cluster} --addon-name {addon_name} --query addon.health")),
        );
    }
    let Some(role) = role else {
        return;
    };
    if addon.service_account_role_arn.as_deref() != Some(role.arn.as_str()) {
        let current = addon
            .service_account_role_arn
            .as_deref()
            .unwrap_or("(none: the driver falls back to the node's instance role)");
        out.push(
            Finding::new(&ADDON_ROLE, Some(subject), format!("EKS add-on {addon_name} runs with serviceAccountRoleArn {current}, not {}", role.arn))
                .evidence(format!("add-on serviceAccountRoleArn: {current}"))
                .evidence(format!("service account's role: {}", role.arn))
                .fix("update the add-on's role")
                .command(format!("aws eks update-addon --cluster-name {cluster} --addon-name {addon_name} --service-account-role-arn {}", role.arn))
                .step(Step::UpdateAddon { settings: Default::default(), cluster: cluster.to_string(), name: addon_name.to_string(), identity: AddonIdentity::ServiceAccountRole { role_arn: role.arn.clone() } }),
        );
    }
}
