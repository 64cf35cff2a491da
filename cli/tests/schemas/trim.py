#!/usr/bin/env python3
"""Writes the trimmed schemas of this folder from their upstream files (see README.md).

usage: trim.py <kubernetes-json-schema/v1.33.0-local-strict folder> <keda.sh_scaledobjects.yaml>

Only what validation reads is kept: the definitions reachable from Deployment, Service and
Secret (descriptions dropped), and the ScaledObject CRD's v1alpha1 openAPIV3Schema
(descriptions dropped). Needs PyYAML.
"""
import json
import sys

import yaml

KINDS = {"Deployment": "deployment-apps-v1.json", "Service": "service-v1.json", "Secret": "secret-v1.json"}
REF_PREFIX = "/api/_definitions.json#/$defs/"


def strip(node):
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key == "description" and isinstance(value, str):
                continue
            if key == "$ref" and isinstance(value, str) and value.startswith(REF_PREFIX):
                value = "#/$defs/" + value[len(REF_PREFIX):]
            out[key] = strip(value)
        return out
    if isinstance(node, list):
        return [strip(item) for item in node]
    return node


def refs(node, found):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str) and value.startswith("#/$defs/"):
                found.add(value[len("#/$defs/"):])
            else:
                refs(value, found)
    elif isinstance(node, list):
        for item in node:
            refs(item, found)


def kubernetes(folder):
    definitions = json.load(open(f"{folder}/_definitions.json"))["$defs"]
    defs = {}
    pending = set()
    for kind, file in KINDS.items():
        schema = strip(json.load(open(f"{folder}/{file}")))
        for key in ("$schema", "$id"):
            schema.pop(key, None)
        defs[kind] = schema
        refs(schema, pending)
    while pending:
        name = pending.pop()
        if name in defs:
            continue
        defs[name] = strip(definitions[name])
        refs(defs[name], pending)
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$defs": dict(sorted(defs.items()))}


def scaled_object(crd_file):
    crd = yaml.safe_load(open(crd_file))
    version = next(v for v in crd["spec"]["versions"] if v["name"] == "v1alpha1")
    return strip(version["schema"]["openAPIV3Schema"])


def main():
    folder, crd_file = sys.argv[1], sys.argv[2]
    with open("kubernetes-v1.33-strict.json", "w") as out:
        json.dump(kubernetes(folder), out, indent=1, sort_keys=False)
        out.write("\n")
    with open("keda-scaledobject-v1alpha1.json", "w") as out:
        json.dump(scaled_object(crd_file), out, indent=1)
        out.write("\n")


if __name__ == "__main__":
    main()
