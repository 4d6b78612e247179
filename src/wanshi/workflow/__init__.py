"""The process centre (统一流程中心, PS-8): BPMN definitions, versions, instances, tasks, time limits."""
