"""Stand-in for testing: reads the trained state and writes one CSV row of 'results'."""

import argparse
import csv
import json

parser = argparse.ArgumentParser()
parser.add_argument("--model", required=True)
parser.add_argument("--output", required=True)
args, data_params = parser.parse_known_args()
with open(args.model) as f:
    state = json.load(f)
assert state["trained"], "test_model got an untrained model"
print(f"testing a model with {len(state['params']) // 2} parameters on {data_params}")
with open(args.output, "w", newline="") as f:
    writer = csv.writer(f)
    writer.writerow(["accuracy", "n_params"])
    writer.writerow([0.5, len(state["params"]) // 2])
