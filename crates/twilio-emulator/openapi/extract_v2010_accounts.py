# Usage: python3 extract_v2010_accounts.py twilio_api_v2010.json > twilio_api_v2010_accounts.json
# Extracts the Accounts resource of Twilio's 2010 API document: the two paths, the schemas
# they reference (transitively), the tags they use, and every other top-level member as is.
import json, sys

source = json.load(open(sys.argv[1]))
PATHS = ["/2010-04-01/Accounts.json", "/2010-04-01/Accounts/{Sid}.json"]
paths = {path: source["paths"][path] for path in PATHS}

def references(value):
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "$ref" and isinstance(item, str):
                yield item
            else:
                yield from references(item)
    elif isinstance(value, list):
        for item in value:
            yield from references(item)

wanted, queue = set(), list(references(paths))
while queue:
    reference = queue.pop()
    name = reference.removeprefix("#/components/schemas/")
    if name in wanted:
        continue
    wanted.add(name)
    queue.extend(references(source["components"]["schemas"][name]))

tags = {tag for item in paths.values() for operation in item.values()
        if isinstance(operation, dict) for tag in operation.get("tags", [])}
extract = {}
for key, value in source.items():
    if key == "components":
        value = {member: ({name: schema for name, schema in schemas.items() if name in wanted}
                          if member == "schemas" else schemas)
                 for member, schemas in value.items()}
    elif key == "paths":
        value = paths
    elif key == "tags":
        value = [tag for tag in value if tag["name"] in tags]
    extract[key] = value
sys.stdout.write(json.dumps(extract, indent=2))
