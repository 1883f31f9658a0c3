"""The pom published beside the jar: java/pom.xml reduced to what a consumer reads.

    python3 packaging/java/consumer_pom.py java/pom.xml VERSION > yunxin-ecp-VERSION.pom

Keeps the coordinates, the packaging, the description, the URL, the licences, the SCM and the
developers, and the dependencies a consumer inherits (compile and runtime scope: none today, the
jar has no runtime dependency). Drops the build (resources, plugins, the native library's
directory) and the test dependencies. Fails when the project's version is not VERSION or a
property reference would be left unresolved, so `mvn install:install-file -DpomFile=...` installs
exactly these coordinates.
"""

import sys
import xml.etree.ElementTree as ET

NS = "http://maven.apache.org/POM/4.0.0"
KEEP = ["modelVersion", "groupId", "artifactId", "version", "packaging", "name", "description",
        "url", "licenses", "scm", "developers"]


def main() -> int:
    source, version = sys.argv[1], sys.argv[2]
    ET.register_namespace("", NS)
    ET.register_namespace("xsi", "http://www.w3.org/2001/XMLSchema-instance")
    project = ET.parse(source).getroot()
    q = lambda tag: f"{{{NS}}}{tag}"  # noqa: E731
    found = project.findtext(q("version"))
    if found != version:
        print(f"consumer_pom: {source} has version {found}, not {version}", file=sys.stderr)
        return 1
    out = ET.Element(q("project"), project.attrib)
    for tag in KEEP:
        element = project.find(q(tag))
        if element is not None:
            out.append(element)
    dependencies = project.find(q("dependencies"))
    kept = ET.Element(q("dependencies"))
    if dependencies is not None:
        for dependency in dependencies.findall(q("dependency")):
            if dependency.findtext(q("scope"), "compile") in ("compile", "runtime"):
                kept.append(dependency)
    if len(kept):
        out.append(kept)
    ET.indent(out, space="  ")
    text = ET.tostring(out, encoding="unicode")
    if "${" in text:
        print(f"consumer_pom: an unresolved property in {text[text.index('${'):][:60]}", file=sys.stderr)
        return 1
    sys.stdout.write('<?xml version="1.0" encoding="UTF-8"?>\n' + text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
