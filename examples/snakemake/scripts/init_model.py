"""Stand-in for model initialisation: writes the parsed flags as the 'model state'."""

import argparse
import json

parser = argparse.ArgumentParser()
parser.add_argument("--output", required=True)
parser.add_argument("--seed", required=True)
args, params = parser.parse_known_args()
with open(args.output, "w") as f:
    json.dump({"seed": args.seed, "params": params, "trained": False}, f)
