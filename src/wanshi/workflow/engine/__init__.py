"""BPMN execution on SpiffWorkflow: our parser extensions, sandboxed scripts, platform actions, timers on the
platform's clock, and a compact state codec. Pure of persistence: services load and save what it returns."""
