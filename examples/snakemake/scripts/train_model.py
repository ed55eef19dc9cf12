"""Stand-in for training: copies the initial state and marks it trained."""

import argparse
import json

parser = argparse.ArgumentParser()
parser.add_argument("--input", required=True)
parser.add_argument("--output", required=True)
args, params = parser.parse_known_args()
with open(args.input) as f:
    state = json.load(f)
assert state["params"] == params, "training flags differ from initialisation flags"
state["trained"] = True
with open(args.output, "w") as f:
    json.dump(state, f)
