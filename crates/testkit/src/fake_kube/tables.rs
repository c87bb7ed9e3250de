//! Server-side printing: a `meta.k8s.io/v1` `Table` for a GET whose `Accept` asks for one
//! (`application/json;as=Table;v=v1;g=meta.k8s.io`, as kubectl's `get` does), with the columns
//! the real API server prints for each type (priority 1: only with `-o wide`) and each row's
//! object as `PartialObjectMetadata`, from which kubectl takes the namespace and labels.

use serde_json::{Value, json};

use super::resources::ResourceType;

/// Whether the request's `Accept` asks for a Table.
pub fn wants_table(accept: &str) -> bool {
    accept
        .split(',')
        .next()
        .is_some_and(|first| first.contains("as=Table") && first.contains("g=meta.k8s.io"))
}

type Cell = fn(&Value) -> Value;

/// One column: its header, its type and format for the `columnDefinitions`, the priority
/// (1: wide only) and how to read the cell.
struct Column(&'static str, &'static str, u8, Cell);

fn columns(rt: &ResourceType) -> Vec<Column> {
    let name = Column("Name", "string", 0, |o| o["metadata"]["name"].clone());
    let age_column = Column("Age", "string", 0, |o| json!(age(o)));
    let containers = Column("Containers", "string", 1, |o| {
        json!(template_containers(o, "name"))
    });
    let images = Column("Images", "string", 1, |o| {
        json!(template_containers(o, "image"))
    });
    let selector = Column("Selector", "string", 1, |o| json!(selector(o)));
    match rt.plural {
        "namespaces" => vec![
            name,
            Column("Status", "string", 0, |o| o["status"]["phase"].clone()),
            age_column,
        ],
        "serviceaccounts" => vec![
            name,
            Column("Secrets", "integer", 0, |o| {
                json!(o["secrets"].as_array().map_or(0, Vec::len))
            }),
            age_column,
        ],
        "pods" => vec![
            name,
            Column("Ready", "string", 0, |o| json!(pod_ready(o))),
            Column("Status", "string", 0, |o| json!(pod_status(o))),
            Column("Restarts", "integer", 0, |o| json!(restarts(o))),
            age_column,
            Column("IP", "string", 1, |o| {
                json!(o["status"]["podIP"].as_str().unwrap_or("<none>"))
            }),
            Column("Node", "string", 1, |o| {
                json!(o["spec"]["nodeName"].as_str().unwrap_or("<none>"))
            }),
            Column("Nominated Node", "string", 1, |_| json!("<none>")),
            Column("Readiness Gates", "string", 1, |_| json!("<none>")),
        ],
        "deployments" => vec![
            name,
            Column("Ready", "string", 0, |o| {
                let ready = o["status"]["readyReplicas"].as_i64().unwrap_or(0);
                json!(format!(
                    "{ready}/{}",
                    o["spec"]["replicas"].as_i64().unwrap_or(1)
                ))
            }),
            Column("Up-to-date", "integer", 0, |o| {
                json!(o["status"]["updatedReplicas"].as_i64().unwrap_or(0))
            }),
            Column("Available", "integer", 0, |o| {
                json!(o["status"]["availableReplicas"].as_i64().unwrap_or(0))
            }),
            age_column,
            containers,
            images,
            selector,
        ],
        "replicasets" => vec![
            name,
            Column("Desired", "integer", 0, |o| {
                json!(o["spec"]["replicas"].as_i64().unwrap_or(0))
            }),
            Column("Current", "integer", 0, |o| {
                json!(o["status"]["replicas"].as_i64().unwrap_or(0))
            }),
            Column("Ready", "integer", 0, |o| {
                json!(o["status"]["readyReplicas"].as_i64().unwrap_or(0))
            }),
            age_column,
            containers,
            images,
            selector,
        ],
        "events" => vec![
            Column("Last Seen", "string", 0, |o| json!(age(o))),
            Column("Type", "string", 0, |o| o["type"].clone()),
            Column("Reason", "string", 0, |o| o["reason"].clone()),
            Column("Object", "string", 0, |o| {
                let obj = &o["involvedObject"];
                json!(format!(
                    "{}/{}",
                    obj["kind"].as_str().unwrap_or_default().to_lowercase(),
                    obj["name"].as_str().unwrap_or_default()
                ))
            }),
            Column("Message", "string", 0, |o| o["message"].clone()),
        ],
        _ => vec![name, age_column, containers, images],
    }
}

/// The Table for `objects` (a list's items, or the one object of a GET).
pub fn table(rt: &ResourceType, objects: &[Value], resource_version: &str) -> Value {
    let columns = columns(rt);
    let definitions: Vec<Value> = columns
        .iter()
        .map(|Column(name, kind, priority, _)| {
            let format = if *name == "Name" { "name" } else { "" };
            json!({"name": name, "type": kind, "format": format, "description": "", "priority": priority})
        })
        .collect();
    let rows: Vec<Value> = objects
        .iter()
        .map(|o| {
            let cells: Vec<Value> = columns
                .iter()
                .map(|Column(_, _, _, cell)| cell(o))
                .collect();
            json!({"cells": cells, "object": {
                "kind": "PartialObjectMetadata",
                "apiVersion": "meta.k8s.io/v1",
                "metadata": o["metadata"],
            }})
        })
        .collect();
    json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": resource_version},
        "columnDefinitions": definitions,
        "rows": rows,
    })
}

fn template_containers(o: &Value, field: &str) -> String {
    let containers = o["spec"]["template"]["spec"]["containers"]
        .as_array()
        .or_else(|| o["spec"]["containers"].as_array());
    containers
        .map(|cs| {
            cs.iter()
                .filter_map(|c| c[field].as_str())
                .collect::<Vec<_>>()
                .join(",")
        })
        .unwrap_or_default()
}

fn selector(o: &Value) -> String {
    o["spec"]["selector"]["matchLabels"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
                .collect::<Vec<_>>()
                .join(",")
        })
        .unwrap_or_default()
}

fn pod_ready(o: &Value) -> String {
    let total = o["spec"]["containers"].as_array().map_or(0, Vec::len);
    let ready = o["status"]["containerStatuses"]
        .as_array()
        .map_or(0, |ss| ss.iter().filter(|s| s["ready"] == true).count());
    format!("{ready}/{total}")
}

/// The phase, or the reason a container waits or ended (`ContainerCreating`, `Completed`).
fn pod_status(o: &Value) -> String {
    let statuses = o["status"]["containerStatuses"].as_array();
    let reason = statuses.and_then(|ss| {
        ss.iter().find_map(|s| {
            s["state"]["waiting"]["reason"]
                .as_str()
                .or_else(|| s["state"]["terminated"]["reason"].as_str())
        })
    });
    reason
        .or_else(|| o["status"]["phase"].as_str())
        .unwrap_or("Pending")
        .to_string()
}

fn restarts(o: &Value) -> i64 {
    o["status"]["containerStatuses"].as_array().map_or(0, |ss| {
        ss.iter().filter_map(|s| s["restartCount"].as_i64()).sum()
    })
}

/// The object's age as kubectl shows it (apimachinery's `HumanDuration`): `45s`, `3m20s`,
/// `12m`, `5h3m`, `2d4h`, `30d`.
fn age(o: &Value) -> String {
    let created = o["metadata"]["creationTimestamp"]
        .as_str()
        .or_else(|| o["lastTimestamp"].as_str())
        .and_then(|t| t.parse::<jiff::Timestamp>().ok());
    let Some(created) = created else {
        return "<unknown>".into();
    };
    let seconds = jiff::Timestamp::now().as_second() - created.as_second();
    human_duration(seconds)
}

/// apimachinery's `duration.HumanDuration` for a number of seconds.
pub fn human_duration(seconds: i64) -> String {
    if seconds < -1 {
        return "<invalid>".into();
    }
    let s = seconds.max(0);
    let (m, h, d) = (s / 60, s / 3600, s / 86400);
    match s {
        _ if s < 120 => format!("{s}s"),
        _ if m < 10 && s % 60 == 0 => format!("{m}m"),
        _ if m < 10 => format!("{m}m{}s", s % 60),
        _ if m < 180 => format!("{m}m"),
        _ if h < 8 && m % 60 == 0 => format!("{h}h"),
        _ if h < 8 => format!("{h}h{}m", m % 60),
        _ if h < 48 => format!("{h}h"),
        _ if h < 192 && h % 24 == 0 => format!("{d}d"),
        _ if h < 192 => format!("{d}d{}h", h % 24),
        _ if d < 365 * 2 => format!("{d}d"),
        _ if d < 365 * 8 => format!("{}y{}d", d / 365, d % 365),
        _ => format!("{}y", d / 365),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fake_kube::resources::{PODS, SERVICE_ACCOUNTS};

    #[test]
    fn ages_read_as_kubectl_prints_them() {
        let cases = [
            (5, "5s"),
            (119, "119s"),
            (200, "3m20s"),
            (600, "10m"),
            (3 * 3600 + 60, "3h1m"),
            (30 * 3600, "30h"),
            (3 * 86400 + 3600, "3d1h"),
            (30 * 86400, "30d"),
        ];
        for (seconds, shown) in cases {
            assert_eq!(human_duration(seconds), shown, "{seconds}");
        }
    }

    #[test]
    fn only_a_table_first_accept_gets_one() {
        assert!(wants_table(
            "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json"
        ));
        assert!(!wants_table("application/json"));
        assert!(!wants_table("application/json, */*"));
    }

    #[test]
    fn rows_have_the_types_columns_and_partial_metadata() {
        let sa = json!({"metadata": {"name": "app", "namespace": "demo", "creationTimestamp": "2020-01-01T00:00:00Z"}});
        let t = table(&SERVICE_ACCOUNTS, &[sa], "7");
        assert_eq!(t["columnDefinitions"][1]["name"], "Secrets");
        assert_eq!(t["rows"][0]["cells"][0], "app");
        assert_eq!(t["rows"][0]["cells"][1], 0);
        assert_eq!(t["rows"][0]["object"]["metadata"]["namespace"], "demo");
        let pod = json!({"metadata": {"name": "p"}, "spec": {"containers": [{"name": "a"}]},
            "status": {"phase": "Running", "containerStatuses": [{"name": "a", "ready": true, "restartCount": 2, "state": {"running": {}}}]}});
        let cells = &table(&PODS, &[pod], "1")["rows"][0]["cells"];
        assert_eq!(cells[1], "1/1");
        assert_eq!(cells[2], "Running");
        assert_eq!(cells[3], 2);
    }
}
