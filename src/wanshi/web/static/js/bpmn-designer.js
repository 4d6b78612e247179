// The BPMN designer: turns the plain XML form (#bpmn-form) into the vendored bpmn-js modeler with a Chinese
// properties panel for Wanshi's extension attributes. Without JavaScript the textarea stays the editor, so
// everything here is an enhancement of a form that already works.
(function () {
  "use strict";

  var WANSHI_NS = "http://wanshi.org/schema/bpmn/1";

  // Moddle descriptor of the wanshi: extension; bpmn-js reads and writes these attributes only if it knows them.
  // moddle names an element's XML tag by the package of the last type mixed into it. Our `extends` makes wanshi
  // that package for bpmn:UserTask and the others, so wanshi must alias tags to lower case like bpmn does, or
  // bpmn-js would write <bpmn:UserTask>.
  var WANSHI_DESCRIPTOR = {
    name: "Wanshi",
    uri: WANSHI_NS,
    prefix: "wanshi",
    xml: { tagAlias: "lowerCase" },
    associations: [],
    enumerations: [],
    types: [
      {
        name: "UserTaskAssignment",
        isAbstract: true,
        extends: ["bpmn:UserTask"],
        properties: [
          { name: "roles", isAttr: true, type: "String" },
          { name: "orgs", isAttr: true, type: "String" },
          { name: "form", isAttr: true, type: "String" },
          { name: "timeLimit", isAttr: true, type: "Integer" },
          { name: "pause", isAttr: true, type: "String" }
        ]
      },
      {
        name: "ServiceTaskAction",
        isAbstract: true,
        extends: ["bpmn:ServiceTask"],
        properties: [
          { name: "action", isAttr: true, type: "String" },
          { name: "resultVariable", isAttr: true, type: "String" }
        ]
      },
      {
        name: "BusinessRuleTaskDecision",
        isAbstract: true,
        extends: ["bpmn:BusinessRuleTask"],
        properties: [
          { name: "decision", isAttr: true, type: "String" },
          { name: "resultVariable", isAttr: true, type: "String" }
        ]
      },
      {
        name: "Input",
        superClass: ["Element"],
        properties: [
          { name: "name", isAttr: true, type: "String" },
          { name: "expression", isAttr: true, type: "String" }
        ]
      }
    ]
  };

  // The lower-case alias above would also write <wanshi:input>; our format is <wanshi:Input>. An empty type
  // mixed into wanshi:Input from a package without tag aliasing makes that package the last one, so the tag
  // keeps its capital. Nothing of this package is ever written: it has no properties.
  var WANSHI_INPUT_TAG_DESCRIPTOR = {
    name: "WanshiInputTag",
    uri: WANSHI_NS + "/moddle-input-tag",
    prefix: "wanshiInputTag",
    associations: [],
    enumerations: [],
    types: [{ name: "InputTag", isAbstract: true, extends: ["wanshi:Input"], properties: [] }]
  };

  // bpmn-js passes these English strings to translate(); found by grepping the dist for translate( calls and
  // for the replace menu's option labels.
  var ZH = {
    "Activate hand tool": "启用抓手工具（移动画布）",
    "Activate lasso tool": "启用套索工具（框选元素）",
    "Activate create/remove space tool": "启用空间工具（插入或删除空白）",
    "Activate global connect tool": "启用全局连线工具",
    "Create start event": "创建开始事件",
    "Create intermediate/boundary event": "创建中间事件或边界事件",
    "Create end event": "创建结束事件",
    "Create gateway": "创建网关",
    "Create task": "创建任务",
    "Create data object reference": "创建数据对象引用",
    "Create data store reference": "创建数据存储引用",
    "Create expanded sub-process": "创建展开的子流程",
    "Create pool/participant": "创建泳池（参与者）",
    "Create group": "创建分组",
    "Append end event": "追加结束事件",
    "Append gateway": "追加网关",
    "Append task": "追加任务",
    "Append intermediate/boundary event": "追加中间事件或边界事件",
    "Append receive task": "追加接收任务",
    "Append message intermediate catch event": "追加消息中间捕获事件",
    "Append timer intermediate catch event": "追加定时中间捕获事件",
    "Append conditional intermediate catch event": "追加条件中间捕获事件",
    "Append signal intermediate catch event": "追加信号中间捕获事件",
    "Append compensation activity": "追加补偿活动",
    "Add text annotation": "添加文字注释",
    "Add lane above": "在上方添加泳道",
    "Add lane below": "在下方添加泳道",
    "Divide into two lanes": "拆分为两条泳道",
    "Divide into three lanes": "拆分为三条泳道",
    "Change element": "更改元素类型",
    Delete: "删除",
    "Connect to other element": "连接到其他元素",
    "Connect using association": "用关联连接",
    "Connect using data input association": "用数据输入关联连接",
    "Align elements": "对齐元素",
    "Align elements left": "左对齐",
    "Align elements center": "水平居中对齐",
    "Align elements right": "右对齐",
    "Align elements top": "顶端对齐",
    "Align elements middle": "垂直居中对齐",
    "Align elements bottom": "底端对齐",
    "Distribute elements horizontally": "水平等距分布",
    "Distribute elements vertically": "垂直等距分布",
    "Search in diagram": "在流程图中搜索",
    "Open {element}": "打开 {element}",
    "Parallel multi-instance": "并行多实例",
    "Sequential multi-instance": "串行多实例",
    Loop: "循环",
    Collection: "集合",
    "Participant multiplicity": "参与者多重性",
    "Toggle non-interrupting": "切换为不中断",
    "flow elements must be children of pools/participants": "流程元素必须放在泳池（参与者）内",
    "Data object must be placed within a pool/participant.": "数据对象必须放在泳池（参与者）内。",
    "Ad-hoc sub-process": "自由子流程",
    "Ad-hoc sub-process (collapsed)": "自由子流程（折叠）",
    "Ad-hoc sub-process (expanded)": "自由子流程（展开）",
    "Boundary event": "边界事件",
    "Business rule task": "业务规则任务",
    "Call activity": "调用活动",
    "Cancel boundary event": "取消边界事件",
    "Cancel end event": "取消结束事件",
    "Compensation boundary event": "补偿边界事件",
    "Compensation end event": "补偿结束事件",
    "Compensation intermediate throw event": "补偿中间抛出事件",
    "Compensation start event": "补偿开始事件",
    "Complex gateway": "复杂网关",
    "Conditional boundary event": "条件边界事件",
    "Conditional boundary event (non-interrupting)": "条件边界事件（不中断）",
    "Conditional flow": "条件流",
    "Conditional intermediate catch event": "条件中间捕获事件",
    "Conditional start event": "条件开始事件",
    "Conditional start event (non-interrupting)": "条件开始事件（不中断）",
    "Data object reference": "数据对象引用",
    "Data store reference": "数据存储引用",
    "Default flow": "默认流",
    "Empty pool/participant": "空泳池（参与者）",
    "End event": "结束事件",
    "Error boundary event": "错误边界事件",
    "Error end event": "错误结束事件",
    "Error start event": "错误开始事件",
    "Escalation boundary event": "升级边界事件",
    "Escalation boundary event (non-interrupting)": "升级边界事件（不中断）",
    "Escalation end event": "升级结束事件",
    "Escalation intermediate throw event": "升级中间抛出事件",
    "Escalation start event": "升级开始事件",
    "Escalation start event (non-interrupting)": "升级开始事件（不中断）",
    "Event based instantiating Gateway": "事件实例化网关",
    "Event sub-process": "事件子流程",
    "Event-based gateway": "事件网关",
    "Exclusive gateway": "排他网关",
    "Expanded pool/participant": "展开的泳池（参与者）",
    "Inclusive gateway": "包容网关",
    "Intermediate throw event": "中间抛出事件",
    "Link intermediate catch event": "链接中间捕获事件",
    "Link intermediate throw event": "链接中间抛出事件",
    "Manual task": "人工任务",
    "Message boundary event": "消息边界事件",
    "Message boundary event (non-interrupting)": "消息边界事件（不中断）",
    "Message end event": "消息结束事件",
    "Message intermediate catch event": "消息中间捕获事件",
    "Message intermediate throw event": "消息中间抛出事件",
    "Message start event": "消息开始事件",
    "Message start event (non-interrupting)": "消息开始事件（不中断）",
    "Parallel Event based instantiating Gateway": "并行事件实例化网关",
    "Parallel gateway": "并行网关",
    "Receive task": "接收任务",
    "Script task": "脚本任务",
    "Send task": "发送任务",
    "Sequence flow": "顺序流",
    "Service task": "服务任务",
    "Signal boundary event": "信号边界事件",
    "Signal boundary event (non-interrupting)": "信号边界事件（不中断）",
    "Signal end event": "信号结束事件",
    "Signal intermediate catch event": "信号中间捕获事件",
    "Signal intermediate throw event": "信号中间抛出事件",
    "Signal start event": "信号开始事件",
    "Signal start event (non-interrupting)": "信号开始事件（不中断）",
    "Start event": "开始事件",
    "Sub-process": "子流程",
    "Sub-process (collapsed)": "子流程（折叠）",
    "Sub-process (expanded)": "子流程（展开）",
    Task: "任务",
    "Terminate end event": "终止结束事件",
    "Timer boundary event": "定时边界事件",
    "Timer boundary event (non-interrupting)": "定时边界事件（不中断）",
    "Timer intermediate catch event": "定时中间捕获事件",
    "Timer start event": "定时开始事件",
    "Timer start event (non-interrupting)": "定时开始事件（不中断）",
    Transaction: "事务",
    "User task": "用户任务"
  };

  function customTranslate(template, replacements) {
    var values = replacements || {};
    var text = Object.prototype.hasOwnProperty.call(ZH, template) ? ZH[template] : template;
    return text.replace(/{([^}]+)}/g, function (match, key) {
      return Object.prototype.hasOwnProperty.call(values, key) ? String(values[key]) : match;
    });
  }

  // Most specific first: the first type an element is an instance of names it in the panel.
  var TYPE_NAMES = [
    ["bpmn:UserTask", "用户任务"],
    ["bpmn:ServiceTask", "服务任务"],
    ["bpmn:BusinessRuleTask", "业务规则任务"],
    ["bpmn:ScriptTask", "脚本任务"],
    ["bpmn:ManualTask", "人工任务"],
    ["bpmn:SendTask", "发送任务"],
    ["bpmn:ReceiveTask", "接收任务"],
    ["bpmn:CallActivity", "调用活动"],
    ["bpmn:SubProcess", "子流程"],
    ["bpmn:Task", "任务"],
    ["bpmn:StartEvent", "开始事件"],
    ["bpmn:EndEvent", "结束事件"],
    ["bpmn:BoundaryEvent", "边界事件"],
    ["bpmn:IntermediateCatchEvent", "中间捕获事件"],
    ["bpmn:IntermediateThrowEvent", "中间抛出事件"],
    ["bpmn:ExclusiveGateway", "排他网关"],
    ["bpmn:InclusiveGateway", "包容网关"],
    ["bpmn:ParallelGateway", "并行网关"],
    ["bpmn:EventBasedGateway", "事件网关"],
    ["bpmn:ComplexGateway", "复杂网关"],
    ["bpmn:SequenceFlow", "顺序流"],
    ["bpmn:MessageFlow", "消息流"],
    ["bpmn:Association", "关联"],
    ["bpmn:TextAnnotation", "文字注释"],
    ["bpmn:Participant", "泳池（参与者）"],
    ["bpmn:Lane", "泳道"],
    ["bpmn:Process", "流程"],
    ["bpmn:Collaboration", "协作"]
  ];

  // What the "追加下一环节" buttons create: keyboard users cannot drag from the palette.
  var APPENDABLE = [
    ["bpmn:UserTask", "用户任务"],
    ["bpmn:ServiceTask", "服务任务"],
    ["bpmn:BusinessRuleTask", "业务规则任务"],
    ["bpmn:ScriptTask", "脚本任务"],
    ["bpmn:ExclusiveGateway", "排他网关"],
    ["bpmn:ParallelGateway", "并行网关"],
    ["bpmn:EndEvent", "结束事件"]
  ];

  var VARIABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
  var ORG_VARIABLE = /^\$[A-Za-z_][A-Za-z0-9_]*$/;
  var WORKING_DAYS_BODY = /^\s*working_days_after\(\s*(\d+)\s*\)\s*$/;
  var QUOTED_BODY = /^\s*(["'])(.*)\1\s*$/;
  var ISO_DURATION = /^P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?$/;

  function typeName(bo) {
    for (var i = 0; i < TYPE_NAMES.length; i++) {
      if (bo.$instanceOf(TYPE_NAMES[i][0])) {
        return TYPE_NAMES[i][1];
      }
    }
    return "元素";
  }

  function randomSuffix() {
    var bytes = new Uint8Array(4);
    window.crypto.getRandomValues(bytes);
    return Array.prototype.map
      .call(bytes, function (b) {
        return b.toString(36);
      })
      .join("")
      .slice(0, 7);
  }

  function freshDiagram() {
    var processId = "Process_" + randomSuffix();
    return (
      '<?xml version="1.0" encoding="UTF-8"?>\n' +
      '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"' +
      ' xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI"' +
      ' xmlns:dc="http://www.omg.org/spec/DD/20100524/DC"' +
      ' xmlns:wanshi="' + WANSHI_NS + '"' +
      ' id="Definitions_' + randomSuffix() + '" targetNamespace="http://bpmn.io/schema/bpmn">\n' +
      '  <bpmn:process id="' + processId + '" isExecutable="true">\n' +
      '    <bpmn:startEvent id="StartEvent_1" name="开始" />\n' +
      "  </bpmn:process>\n" +
      '  <bpmndi:BPMNDiagram id="BPMNDiagram_1">\n' +
      '    <bpmndi:BPMNPlane id="BPMNPlane_1" bpmnElement="' + processId + '">\n' +
      '      <bpmndi:BPMNShape id="StartEvent_1_di" bpmnElement="StartEvent_1">\n' +
      '        <dc:Bounds x="152" y="102" width="36" height="36" />\n' +
      "      </bpmndi:BPMNShape>\n" +
      "    </bpmndi:BPMNPlane>\n" +
      "  </bpmndi:BPMNDiagram>\n" +
      "</bpmn:definitions>\n"
    );
  }

  // A tiny element builder: text always goes through textContent, so palette names cannot inject markup.
  function h(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) {
      var value = attrs[key];
      if (value === undefined || value === null || value === false) {
        return;
      }
      if (key === "text") {
        node.textContent = value;
      } else if (key.slice(0, 2) === "on") {
        node.addEventListener(key.slice(2), value);
      } else if (key === "checked" || key === "value" || key === "selected" || key === "disabled") {
        node[key] = value;
      } else {
        node.setAttribute(key, value === true ? "" : String(value));
      }
    });
    (children || []).forEach(function (child) {
      if (child) {
        node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
      }
    });
    return node;
  }

  function splitList(value) {
    return String(value || "")
      .split(/[,，\s]+/)
      .filter(function (token) {
        return token !== "";
      });
  }

  function joinList(tokens) {
    return tokens.length ? tokens.join(",") : undefined;
  }

  function byCode(items, key) {
    var map = {};
    items.forEach(function (item) {
      map[item[key]] = item;
    });
    return map;
  }

  function normalisePalette(raw) {
    var data = raw || {};
    return {
      roles: data.roles || [],
      orgs: data.orgs || [],
      actions: data.actions || [],
      forms: data.forms || [],
      decisions: data.decisions || [],
      pauses: data.pauses || []
    };
  }

  var SET_DEFAULT_FLOW = "wanshi.defaultFlow.set";

  // Making a flow its gateway's default also drops the flow's condition (a default flow has none); both
  // changes run inside this one command, so a single undo reverts them together.
  function SetDefaultFlowHandler(modeling) {
    this.modeling = modeling;
  }

  SetDefaultFlowHandler.$inject = ["modeling"];

  SetDefaultFlowHandler.prototype.preExecute = function (context) {
    var flow = context.flow;
    this.modeling.updateProperties(context.gateway, { default: flow ? flow.businessObject : undefined });
    if (flow) {
      this.modeling.updateProperties(flow, { conditionExpression: undefined });
    }
  };

  function Designer(form) {
    this.form = form;
    this.textarea = form.querySelector("textarea[name=bpmn_xml]");
    this.canvasNode = form.querySelector("#bpmn-canvas");
    this.panel = form.querySelector("#bpmn-properties");
    this.palette = normalisePalette(null);
    this.ready = false;
    this.saving = false;
    this.resubmitting = false;
    this.ownChange = false;
    // The timer mode a clerk picked before typing a value: the model has no body yet to tell it from.
    this.pendingTimerMode = {};
    this.status = h("div", { class: "bpmn-status", role: "status", "aria-live": "polite" });
    form.insertBefore(this.status, this.textarea);
  }

  Designer.prototype.start = function () {
    var self = this;
    this.form.classList.add("is-enhanced");
    this.setSourceVisible(false);
    this.modeler = new window.BpmnJS({
      container: this.canvasNode,
      // Order matters: the tag fix extends a type of the wanshi package, which must be registered first.
      moddleExtensions: { wanshi: WANSHI_DESCRIPTOR, wanshiInputTag: WANSHI_INPUT_TAG_DESCRIPTOR },
      additionalModules: [{ translate: ["value", customTranslate] }]
    });
    this.modeling = this.modeler.get("modeling");
    this.moddle = this.modeler.get("moddle");
    this.bpmnFactory = this.modeler.get("bpmnFactory");
    this.selection = this.modeler.get("selection");
    this.canvas = this.modeler.get("canvas");
    this.elementRegistry = this.modeler.get("elementRegistry");
    this.modeler.get("commandStack").registerHandler(SET_DEFAULT_FLOW, SetDefaultFlowHandler);
    this.form.addEventListener("submit", function (event) {
      self.onSubmit(event);
    });
    // Enter in a designer field would otherwise submit the whole form (implicit submission) and save a draft.
    this.form.addEventListener("keydown", function (event) {
      var target = event.target;
      if (
        event.key === "Enter" &&
        target instanceof HTMLInputElement &&
        (self.panel.contains(target) || self.canvasNode.contains(target))
      ) {
        event.preventDefault();
      }
    });
    var eventBus = this.modeler.get("eventBus");
    eventBus.on(["selection.changed", "root.set"], function () {
      self.render();
    });
    eventBus.on("elements.changed", function () {
      // Undo, redo and edits on the canvas change the model behind the panel; our own edits do not need it.
      if (!self.ownChange) {
        self.render();
      }
    });
    return Promise.all([this.importDiagram(), this.loadPalette()]).then(function () {
      self.render();
    });
  };

  Designer.prototype.importDiagram = function () {
    var self = this;
    var source = this.textarea.value.trim();
    return this.modeler.importXML(source || freshDiagram()).then(
      function (result) {
        self.ready = true;
        var warnings = result.warnings || [];
        if (warnings.length) {
          self.say(
            "warning",
            "流程图已载入，但有 " + warnings.length + " 处内容无法识别，保存时可能丢失：",
            warnings.map(function (warning) {
              return warning.message;
            })
          );
        }
      },
      function (error) {
        self.setSourceVisible(true);
        self.canvasNode.hidden = true;
        self.panel.hidden = true;
        self.say(
          "error",
          "流程定义无法载入，图形设计器不可用。请在下方文本框中修正 XML 后保存。",
          [error && error.message ? error.message : String(error)]
        );
      }
    );
  };

  Designer.prototype.setSourceVisible = function (visible) {
    var textarea = this.textarea;
    textarea.hidden = !visible;
    if (textarea.id) {
      this.form.querySelectorAll("label").forEach(function (label) {
        if (label.htmlFor === textarea.id) {
          label.hidden = !visible;
        }
      });
    }
  };

  Designer.prototype.loadPalette = function () {
    var self = this;
    var url = this.form.getAttribute("data-palette-url");
    if (!url) {
      return Promise.resolve();
    }
    return window
      .fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("HTTP " + response.status);
        }
        return response.json();
      })
      .then(
        function (data) {
          self.palette = normalisePalette(data);
        },
        function (error) {
          self.say("error", "无法读取角色、部门、表单、动作和决策表目录，相应的选项暂时为空。", [
            String(error && error.message ? error.message : error)
          ]);
        }
      );
  };

  Designer.prototype.say = function (kind, message, details) {
    var items = (details || []).map(function (detail) {
      return h("li", { text: detail });
    });
    this.status.appendChild(
      h("div", { class: "bpmn-message bpmn-message-" + kind }, [
        h("p", { text: message }),
        items.length ? h("ul", {}, items) : null
      ])
    );
  };

  Designer.prototype.onSubmit = function (event) {
    var self = this;
    if (!this.ready || this.resubmitting) {
      return;
    }
    event.preventDefault();
    if (this.saving) {
      return;
    }
    this.saving = true;
    var submitter = event.submitter || null;
    this.modeler
      .saveXML({ format: true })
      .then(function (result) {
        self.textarea.value = result.xml;
        // saveXML settles in microtasks, which may run while this submit event is still being dispatched;
        // the browser ignores requestSubmit until that dispatch is over, so wait for the next task.
        return new Promise(function (resolve) {
          window.setTimeout(resolve, 0);
        });
      })
      .then(
        function () {
          // requestSubmit keeps the clicked button's name and value and runs the form's own checks; it fires
          // the submit event synchronously, so the flag lets exactly that event through.
          self.resubmitting = true;
          try {
            self.form.requestSubmit(submitter);
          } finally {
            self.resubmitting = false;
          }
        },
        function (error) {
          self.say("error", "无法生成流程定义 XML，草稿没有保存。", [String(error && error.message)]);
        }
      )
      .finally(function () {
        self.saving = false;
      });
  };

  Designer.prototype.update = function (element, properties) {
    this.ownChange = true;
    try {
      this.modeling.updateProperties(element, properties);
    } finally {
      this.ownChange = false;
    }
  };

  Designer.prototype.updateModdle = function (element, moddleElement, properties) {
    this.ownChange = true;
    try {
      this.modeling.updateModdleProperties(element, moddleElement, properties);
    } finally {
      this.ownChange = false;
    }
  };

  Designer.prototype.current = function () {
    var selected = this.selection.get();
    if (selected.length > 1) {
      return null;
    }
    var element = selected.length ? selected[0] : this.canvas.getRootElement();
    return element.labelTarget || element;
  };

  Designer.prototype.render = function () {
    if (!this.ready) {
      return;
    }
    var active = document.activeElement;
    var focusedId = active && this.panel.contains(active) ? active.id : null;
    var sections = [h("h2", { class: "bpmn-properties-title", text: "环节属性" })];
    var element = this.current();
    sections.push(this.navigator(element));
    if (element) {
      sections = sections.concat(this.sectionsFor(element));
    } else {
      var count = this.selection.get().filter(function (selected) {
        return !selected.labelTarget;
      }).length;
      sections.push(h("p", { class: "hint", text: "已选中 " + count + " 个元素。只选一个元素才能编辑属性。" }));
    }
    this.panel.replaceChildren.apply(this.panel, sections);
    if (focusedId) {
      var again = document.getElementById(focusedId);
      if (again) {
        again.focus();
      }
    }
  };

  // A keyboard route to every element: the canvas itself can only be navigated with a pointer.
  Designer.prototype.navigator = function (element) {
    var self = this;
    var root = this.canvas.getRootElement();
    var options = [];
    if (!element) {
      options.push(h("option", { value: "", text: "（已选中多个元素）", selected: true, disabled: true }));
    }
    options.push(h("option", { value: "", text: "（流程本身）", selected: element === root }));
    // Only what is drawn on the current plane: a collapsed sub-process has a plane (a root) of its own.
    function onThisPlane(candidate) {
      var top = candidate;
      while (top.parent) {
        top = top.parent;
      }
      return top === root;
    }
    this.elementRegistry
      .filter(function (candidate) {
        return candidate !== root && !candidate.labelTarget && onThisPlane(candidate);
      })
      .forEach(function (candidate) {
        var bo = candidate.businessObject;
        options.push(
          h("option", {
            value: candidate.id,
            text: typeName(bo) + "：" + (bo.name || bo.id),
            selected: candidate === element
          })
        );
      });
    return h("div", { class: "bpmn-field" }, [
      h("label", { for: "bpmn-prop-element", text: "当前元素" }),
      h(
        "select",
        {
          id: "bpmn-prop-element",
          "aria-describedby": "bpmn-prop-element-help",
          onchange: function (event) {
            var chosen = self.elementRegistry.get(event.target.value);
            if (chosen) {
              self.selection.select(chosen);
              self.canvas.scrollToElement(chosen);
            } else {
              self.selection.select(null);
            }
          }
        },
        options
      ),
      h("p", { id: "bpmn-prop-element-help", class: "hint", text: "也可以在画布上点击元素来选中它。" })
    ]);
  };

  Designer.prototype.sectionsFor = function (element) {
    var bo = element.businessObject;
    var sections = [this.generalSection(element)];
    if (bo.$instanceOf("bpmn:UserTask")) {
      sections.push(this.userTaskSection(element));
    } else if (bo.$instanceOf("bpmn:ServiceTask")) {
      sections.push(this.serviceTaskSection(element));
    } else if (bo.$instanceOf("bpmn:BusinessRuleTask")) {
      sections.push(this.businessRuleSection(element));
    } else if (bo.$instanceOf("bpmn:ScriptTask")) {
      sections.push(this.scriptSection(element));
    } else if (bo.$instanceOf("bpmn:SequenceFlow")) {
      var source = bo.sourceRef;
      if (source && (source.$instanceOf("bpmn:ExclusiveGateway") || source.$instanceOf("bpmn:InclusiveGateway"))) {
        sections.push(this.conditionSection(element));
      }
    }
    if (this.timerDefinition(bo)) {
      sections.push(this.timerSection(element));
    }
    if (bo.$instanceOf("bpmn:FlowNode") && !bo.$instanceOf("bpmn:EndEvent")) {
      sections.push(this.appendSection(element));
    }
    return sections;
  };

  Designer.prototype.generalSection = function (element) {
    var self = this;
    var bo = element.businessObject;
    return fieldset("基本信息", [
      h("p", { class: "bpmn-type", text: "类型：" + typeName(bo) }),
      textField({
        id: "bpmn-prop-name",
        label: "名称",
        value: bo.name || "",
        help: "显示在流程图和办件待办中的名称。",
        onInput: function (value) {
          self.update(element, { name: value || undefined });
          return null;
        }
      }),
      textField({ id: "bpmn-prop-id", label: "标识", value: bo.id, readonly: true, help: "标识由设计器生成，不能修改。" })
    ]);
  };

  Designer.prototype.userTaskSection = function (element) {
    var self = this;
    var bo = element.businessObject;
    var roles = splitList(bo.get("wanshi:roles"));
    var orgTokens = splitList(bo.get("wanshi:orgs"));
    var orgCodes = orgTokens.filter(function (token) {
      return token.charAt(0) !== "$";
    });
    var orgVariables = orgTokens.filter(function (token) {
      return token.charAt(0) === "$";
    });
    var timeLimit = bo.get("wanshi:timeLimit");

    var roleGroup = checkboxGroup({
      id: "bpmn-prop-role",
      legend: "候选角色",
      help: "勾选可以办理此环节的角色。",
      items: this.palette.roles.map(function (role) {
        return { code: role.code, label: role.name };
      }),
      selected: roles,
      onChange: function (codes) {
        self.update(element, { "wanshi:roles": joinList(codes) });
      }
    });

    var orgGroup = checkboxGroup({
      id: "bpmn-prop-org",
      legend: "候选部门",
      help: "勾选办理此环节的部门；部门要在办件时才确定的，在下面填写保存部门代码的流程变量。",
      items: this.palette.orgs.map(function (org) {
        return { code: org.code, label: org.name };
      }),
      selected: orgCodes,
      onChange: function (codes) {
        orgCodes = codes;
        self.update(element, { "wanshi:orgs": joinList(orgCodes.concat(orgVariables)) });
      },
      extra: textField({
        id: "bpmn-prop-org-variables",
        label: "由流程变量确定的部门",
        value: orgVariables.join(", "),
        help: "以 $ 开头的变量名，例如 $handling_org；多个用逗号分隔。",
        onInput: function (value) {
          var tokens = splitList(value);
          var wrong = tokens.filter(function (token) {
            return !ORG_VARIABLE.test(token);
          });
          if (wrong.length) {
            return "变量名须以 $ 开头，后面是字母、数字或下划线：" + wrong.join("、");
          }
          orgVariables = tokens;
          self.update(element, { "wanshi:orgs": joinList(orgCodes.concat(orgVariables)) });
          return null;
        }
      })
    });

    return fieldset("用户任务", [
      roleGroup,
      orgGroup,
      selectField({
        id: "bpmn-prop-form",
        label: "表单",
        help: "办理人在此环节填写或查看的表单。",
        none: "无",
        options: this.palette.forms.map(function (item) {
          return { value: item.key, label: item.title };
        }),
        value: bo.get("wanshi:form") || "",
        onChange: function (value) {
          self.update(element, { "wanshi:form": value || undefined });
        }
      }),
      selectField({
        id: "bpmn-prop-pause",
        label: "等待期间暂停计时",
        help: "此环节等待申请人补正或专家评审等时，办理时限暂停计算。",
        none: "不暂停",
        options: this.palette.pauses.map(function (item) {
          return { value: item.code, label: item.name };
        }),
        value: bo.get("wanshi:pause") || "",
        onChange: function (value) {
          self.update(element, { "wanshi:pause": value || undefined });
        }
      }),
      textField({
        id: "bpmn-prop-time-limit",
        label: "环节时限（工作日）",
        type: "number",
        min: "0",
        step: "1",
        inputmode: "numeric",
        value: timeLimit === undefined || timeLimit === null || isNaN(timeLimit) ? "" : String(timeLimit),
        help: "此环节须在多少个工作日内办结，节假日不计；留空表示不单独设时限。",
        onInput: function (value) {
          if (value === "") {
            self.update(element, { "wanshi:timeLimit": undefined });
            return null;
          }
          if (!/^\d+$/.test(value)) {
            return "请填写 0 或正整数。";
          }
          self.update(element, { "wanshi:timeLimit": parseInt(value, 10) });
          return null;
        }
      })
    ]);
  };

  Designer.prototype.inputsOf = function (bo) {
    var extension = bo.extensionElements;
    return (extension ? extension.get("values") : []).filter(function (value) {
      return value.$instanceOf("wanshi:Input");
    });
  };

  // Writes the wanshi:Input children (and any other properties) as one command, so one undo reverts it.
  Designer.prototype.writeInputs = function (element, inputs, properties) {
    var self = this;
    var bo = element.businessObject;
    var others = (bo.extensionElements ? bo.extensionElements.get("values") : []).filter(function (value) {
      return !value.$instanceOf("wanshi:Input");
    });
    var values = others.concat(
      inputs.map(function (input) {
        return self.moddle.create("wanshi:Input", { name: input.name, expression: input.expression });
      })
    );
    var extension;
    if (values.length) {
      extension = this.bpmnFactory.create("bpmn:ExtensionElements", { values: values });
      values.forEach(function (value) {
        value.$parent = extension;
      });
    }
    this.update(element, Object.assign({ extensionElements: extension }, properties || {}));
  };

  Designer.prototype.serviceTaskSection = function (element) {
    var self = this;
    var bo = element.businessObject;
    var actionName = bo.get("wanshi:action") || "";
    var actions = byCode(this.palette.actions, "name");
    var action = actions[actionName];
    var expressions = {};
    this.inputsOf(bo).forEach(function (input) {
      expressions[input.name] = input.expression || "";
    });
    // An action missing from the catalogue keeps the inputs it has, so nothing is lost by opening the panel.
    var declared = action
      ? action.inputs || []
      : Object.keys(expressions).map(function (name) {
          return { name: name, label: name, required: false };
        });

    function inputsFrom(values) {
      return declared
        .filter(function (input) {
          return values[input.name];
        })
        .map(function (input) {
          return { name: input.name, expression: values[input.name] };
        });
    }

    var inputFields = declared.map(function (input, index) {
      return textField({
        id: "bpmn-prop-input-" + index,
        label: (input.label || input.name) + (input.required ? "（必填）" : ""),
        value: expressions[input.name] || "",
        required: Boolean(input.required),
        monospace: true,
        help: "参数 " + input.name + " 的 Python 表达式；字符串常量要加引号。",
        onInput: function (value) {
          expressions[input.name] = value;
          self.writeInputs(element, inputsFrom(expressions));
          return input.required && !value.trim() ? "此参数为必填项。" : null;
        }
      });
    });

    return fieldset("服务任务", [
      selectField({
        id: "bpmn-prop-action",
        label: "平台动作",
        help: "流程到达此环节时自动执行的平台动作。",
        none: "请选择",
        options: this.palette.actions.map(function (item) {
          return { value: item.name, label: item.label + "（" + item.name + "）" };
        }),
        value: actionName,
        onChange: function (value) {
          var chosen = actions[value];
          var kept = (chosen ? chosen.inputs || [] : [])
            .filter(function (input) {
              return expressions[input.name];
            })
            .map(function (input) {
              return { name: input.name, expression: expressions[input.name] };
            });
          self.writeInputs(element, kept, { "wanshi:action": value || undefined });
          self.render();
        }
      }),
      declared.length ? fieldset("动作参数", inputFields, "bpmn-prop-inputs") : null,
      resultVariableField(self, element)
    ]);
  };

  Designer.prototype.businessRuleSection = function (element) {
    var self = this;
    var bo = element.businessObject;
    return fieldset("业务规则任务", [
      selectField({
        id: "bpmn-prop-decision",
        label: "决策表",
        help: "此环节按哪张 DMN 决策表作出判断。",
        none: "请选择",
        options: this.palette.decisions.map(function (item) {
          return { value: item.id, label: item.name + "（" + item.id + "）" };
        }),
        value: bo.get("wanshi:decision") || "",
        onChange: function (value) {
          self.update(element, { "wanshi:decision": value || undefined });
        }
      }),
      resultVariableField(self, element)
    ]);
  };

  Designer.prototype.scriptSection = function (element) {
    var self = this;
    var bo = element.businessObject;
    return fieldset("脚本任务", [
      textField({
        id: "bpmn-prop-script",
        label: "脚本",
        multiline: true,
        monospace: true,
        value: bo.script || "",
        help: "Python 脚本，可以读写流程变量；在受限的沙箱中运行。",
        onInput: function (value) {
          self.update(element, { scriptFormat: "python", script: value || undefined });
          return null;
        }
      })
    ]);
  };

  Designer.prototype.conditionSection = function (element) {
    var self = this;
    var bo = element.businessObject;
    var gatewayBo = bo.sourceRef;
    var gateway = this.elementRegistry.get(gatewayBo.id);
    var isDefault = gatewayBo.default === bo;
    var condition = bo.conditionExpression ? bo.conditionExpression.body || "" : "";
    return fieldset("分支条件", [
      textField({
        id: "bpmn-prop-condition",
        label: "条件表达式",
        value: condition,
        monospace: true,
        disabled: isDefault,
        help: isDefault
          ? "这是默认流：其他分支的条件都不成立时走这条，不需要条件。"
          : "Python 表达式，结果为真时走这条顺序流，例如 fee_level == \"减免\"。",
        onInput: function (value) {
          self.update(element, {
            conditionExpression: value.trim()
              ? self.bpmnFactory.create("bpmn:FormalExpression", { body: value })
              : undefined
          });
          return null;
        }
      }),
      checkboxField({
        id: "bpmn-prop-default",
        label: "默认流",
        checked: isDefault,
        help: "网关的其他分支条件都不成立时走默认流。一个网关只有一条默认流。",
        onChange: function (checked) {
          self.ownChange = true;
          try {
            self.modeler.get("commandStack").execute(SET_DEFAULT_FLOW, {
              gateway: gateway,
              flow: checked ? element : null
            });
          } finally {
            self.ownChange = false;
          }
          self.render();
        }
      })
    ]);
  };

  Designer.prototype.timerDefinition = function (bo) {
    var timed = ["bpmn:StartEvent", "bpmn:IntermediateCatchEvent", "bpmn:BoundaryEvent"].some(function (type) {
      return bo.$instanceOf(type);
    });
    if (!timed) {
      return null;
    }
    var definitions = bo.eventDefinitions || [];
    for (var i = 0; i < definitions.length; i++) {
      if (definitions[i].$instanceOf("bpmn:TimerEventDefinition")) {
        return definitions[i];
      }
    }
    return null;
  };

  Designer.prototype.timerSection = function (element) {
    var self = this;
    var timer = this.timerDefinition(element.businessObject);
    var dateBody = timer.timeDate ? timer.timeDate.body || "" : "";
    var durationBody = timer.timeDuration ? timer.timeDuration.body || "" : "";
    var cycleBody = timer.timeCycle ? timer.timeCycle.body || "" : "";
    var days = WORKING_DAYS_BODY.exec(dateBody);
    var quoted = QUOTED_BODY.exec(durationBody);
    var modelMode = days ? "workdays" : quoted ? "duration" : "";
    var mode = modelMode || this.pendingTimerMode[element.id] || "";
    var other = modelMode ? "" : dateBody || durationBody || cycleBody;

    function write(properties) {
      self.updateModdle(
        element,
        timer,
        Object.assign({ timeDate: undefined, timeDuration: undefined, timeCycle: undefined }, properties)
      );
    }

    function expression(body) {
      return self.bpmnFactory.create("bpmn:FormalExpression", { body: body });
    }

    var workdayField = textField({
      id: "bpmn-prop-timer-days",
      label: "工作日数",
      type: "number",
      min: "1",
      step: "1",
      inputmode: "numeric",
      value: days ? days[1] : "",
      help: "在多少个工作日之后触发。",
      onInput: function (value) {
        if (!/^\d+$/.test(value) || parseInt(value, 10) < 1) {
          return "请填写正整数。";
        }
        write({ timeDate: expression("working_days_after(" + parseInt(value, 10) + ")") });
        return null;
      }
    });
    var durationField = textField({
      id: "bpmn-prop-timer-duration",
      label: "时长（ISO 8601）",
      value: quoted ? quoted[2] : "",
      monospace: true,
      help: "例如 PT4H 表示 4 小时，P2D 表示 2 天，PT30M 表示 30 分钟。",
      onInput: function (value) {
        var text = value.trim();
        if (!ISO_DURATION.test(text)) {
          return "请按 ISO 8601 填写时长，例如 PT4H。";
        }
        // The body is an expression: a literal duration must be a quoted string.
        write({ timeDuration: expression(JSON.stringify(text)) });
        return null;
      }
    });
    workdayField.hidden = mode !== "workdays";
    durationField.hidden = mode !== "duration";

    return fieldset("定时", [
      selectField({
        id: "bpmn-prop-timer-mode",
        label: "定时方式",
        none: "未设置",
        options: [
          { value: "workdays", label: "按工作日" },
          { value: "duration", label: "按时长" }
        ],
        value: mode,
        help: other
          ? "当前的定时设置 " + other + " 不是设计器能编辑的形式；选择一种方式会替换它。"
          : "按工作日会跳过周末和法定节假日；按时长按自然时间计算。",
        onChange: function (value) {
          self.pendingTimerMode[element.id] = value;
          write({});
          self.render();
        }
      }),
      workdayField,
      durationField
    ]);
  };

  Designer.prototype.appendSection = function (element) {
    var self = this;
    var autoPlace = this.modeler.get("autoPlace");
    var elementFactory = this.modeler.get("elementFactory");
    var buttons = APPENDABLE.map(function (entry) {
      return h("button", {
        type: "button",
        class: "bpmn-append",
        text: entry[1],
        "aria-describedby": "bpmn-append-help",
        onclick: function () {
          autoPlace.append(element, elementFactory.createShape({ type: entry[0] }));
          var name = document.getElementById("bpmn-prop-name");
          if (name) {
            name.focus();
          }
        }
      });
    });
    return fieldset(
      "追加下一环节",
      [h("p", { class: "hint", id: "bpmn-append-help", text: "在当前元素之后新建一个环节并用顺序流连上，然后选中它。" })].concat(
        buttons
      ),
      "bpmn-append-group"
    );
  };

  function resultVariableField(designer, element) {
    var bo = element.businessObject;
    return textField({
      id: "bpmn-prop-result-variable",
      label: "结果变量",
      value: bo.get("wanshi:resultVariable") || "",
      monospace: true,
      help: "结果保存到这个流程变量，供后续环节和条件使用；留空则不保存。",
      onInput: function (value) {
        var text = value.trim();
        if (text && !VARIABLE_NAME.test(text)) {
          return "变量名只能由字母、数字和下划线组成，且不能以数字开头。";
        }
        designer.update(element, { "wanshi:resultVariable": text || undefined });
        return null;
      }
    });
  }

  function fieldset(legend, children, id) {
    return h("fieldset", { class: "bpmn-group", id: id }, [h("legend", { text: legend })].concat(children));
  }

  // onInput returns an error message (the model was not changed) or null (the model was updated).
  function textField(options) {
    var helpId = options.id + "-help";
    var errorId = options.id + "-error";
    var error = h("p", { id: errorId, class: "bpmn-field-error", hidden: true });
    var control = h(options.multiline ? "textarea" : "input", {
      id: options.id,
      type: options.multiline ? undefined : options.type || "text",
      class: options.monospace ? "bpmn-code" : undefined,
      rows: options.multiline ? "8" : undefined,
      min: options.min,
      step: options.step,
      inputmode: options.inputmode,
      readonly: options.readonly,
      disabled: options.disabled,
      spellcheck: options.monospace ? "false" : undefined,
      autocomplete: "off",
      "aria-required": options.required ? "true" : undefined,
      "aria-describedby": helpId
    });
    control.value = options.value;
    if (options.onInput) {
      control.addEventListener("input", function () {
        var problem = options.onInput(control.value);
        error.textContent = problem || "";
        error.hidden = !problem;
        if (problem) {
          control.setAttribute("aria-invalid", "true");
          control.setAttribute("aria-describedby", helpId + " " + errorId);
        } else {
          control.removeAttribute("aria-invalid");
          control.setAttribute("aria-describedby", helpId);
        }
      });
    }
    return h("div", { class: "bpmn-field" }, [
      h("label", { for: options.id, text: options.label }),
      control,
      h("p", { id: helpId, class: "hint", text: options.help }),
      error
    ]);
  }

  function selectField(options) {
    var known = options.options.some(function (option) {
      return option.value === options.value;
    });
    var choices = [{ value: "", label: options.none }].concat(options.options);
    if (options.value && !known) {
      choices.push({ value: options.value, label: options.value + "（不在目录中）" });
    }
    var select = h(
      "select",
      {
        id: options.id,
        "aria-describedby": options.id + "-help",
        onchange: function (event) {
          options.onChange(event.target.value);
        }
      },
      choices.map(function (choice) {
        return h("option", { value: choice.value, text: choice.label, selected: choice.value === options.value });
      })
    );
    return h("div", { class: "bpmn-field" }, [
      h("label", { for: options.id, text: options.label }),
      select,
      h("p", { id: options.id + "-help", class: "hint", text: options.help })
    ]);
  }

  function checkboxField(options) {
    return h("div", { class: "bpmn-field bpmn-check" }, [
      h("input", {
        type: "checkbox",
        id: options.id,
        checked: options.checked,
        "aria-describedby": options.id + "-help",
        onchange: function (event) {
          options.onChange(event.target.checked);
        }
      }),
      h("label", { for: options.id, text: options.label }),
      h("p", { id: options.id + "-help", class: "hint", text: options.help })
    ]);
  }

  // Codes already in the diagram but missing from the catalogue stay listed (and checked) so they survive.
  function checkboxGroup(options) {
    var items = options.items.slice();
    var knownCodes = byCode(items, "code");
    options.selected.forEach(function (code) {
      if (!knownCodes[code]) {
        items.push({ code: code, label: code + "（不在目录中）", unknown: true });
      }
    });
    var boxes = items.map(function (item, index) {
      var id = options.id + "-" + index;
      return h("div", { class: "bpmn-check" }, [
        h("input", {
          type: "checkbox",
          id: id,
          value: item.code,
          checked: options.selected.indexOf(item.code) >= 0
        }),
        h("label", { for: id }, [
          item.label,
          item.unknown ? null : " ",
          item.unknown ? null : h("span", { class: "bpmn-code-tag", text: item.code })
        ])
      ]);
    });
    var group = h(
      "fieldset",
      {
        class: "bpmn-group bpmn-checks",
        id: options.id + "-group",
        "aria-describedby": options.id + "-help",
        onchange: function (event) {
          if (event.target.type !== "checkbox") {
            return;
          }
          var checked = Array.prototype.filter
            .call(group.querySelectorAll("input[type=checkbox]"), function (box) {
              return box.checked;
            })
            .map(function (box) {
              return box.value;
            });
          options.onChange(checked);
        }
      },
      [h("legend", { text: options.legend }), h("p", { id: options.id + "-help", class: "hint", text: options.help })]
        .concat(boxes.length ? boxes : [h("p", { class: "hint", text: "目录中没有可选项。" })])
        .concat([options.extra])
    );
    return group;
  }

  function init() {
    var form = document.getElementById("bpmn-form");
    if (!form || !window.BpmnJS) {
      return;
    }
    new Designer(form).start();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
