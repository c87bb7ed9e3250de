//! irsa's Kubernetes adapter (being written).
