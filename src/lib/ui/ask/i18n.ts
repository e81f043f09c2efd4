/**
 * The Ask page's words in English and German. The language follows the browser (`navigator.language`), English
 * unless it asks for German. `t(key, vars)` fills `{name}` placeholders.
 */
export type Lang = 'en' | 'de';

const en = {
  title: 'Ask',
  intro: 'Ask a language model that runs on a device in your community — this one or a neighbour’s. Nothing leaves the mesh.',
  conversation: 'Conversation',
  newConversation: 'New conversation',
  model: 'Model',
  anyModel: 'Any model',
  modelOfferedBy: '{model} ({nodes})',
  inputLabel: 'Your question',
  inputPlaceholder: 'Ask something… (Enter sends, Shift+Enter adds a line)',
  inputHint: 'Enter sends, Shift+Enter adds a new line.',
  send: 'Send',
  stop: 'Stop',
  you: 'You',
  assistant: 'Model',
  thinking: 'Waiting for the first words…',
  streaming: 'Answering…',
  empty: 'No messages yet. Ask a question below.',
  answeredBySelf: 'answered by {name} (this device)',
  answeredBy: 'answered by {name}',
  rate: '{rate} tokens/s',
  tokens: '{count} tokens',
  stoppedByYou: 'stopped by you',
  stopReason_max_tokens: 'cut off at the length limit',
  stopReason_stop_sequence: 'ended at a stop sequence',
  stopReason_cancelled: 'cancelled by the serving device',
  stopReasonOther: 'ended: {reason}',
  noAnswerText: '(no text)',
  error_not_found: 'No device on the mesh offers a matching model right now.',
  error_timeout: 'The answering device took too long and the call timed out.',
  error_not_implemented: 'The device does not have this model.',
  error_capacity_exceeded: 'The device is busy with other questions. Try again in a moment.',
  error_rate_limited: 'Too many questions in a short time. Try again in a moment.',
  error_partition: 'The answering device could not be reached.',
  errorPrefix: 'The question could not be answered',
  noNode: 'The node is not running in this tab.',
  noProviderTitle: 'No device on the mesh offers a language model right now',
  noProviderBody: 'Any one of these gives everyone in the community a model to ask:',
  fixDeviceModel: 'Run a model in a browser: a laptop with a graphics card (WebGPU) runs a good one, any device a small one.',
  fixServer: 'Offer a model server (Ollama, llama.cpp, LM Studio) from the device it runs on.',
  fixBridge: 'Ask whoever runs the bridge to set llm.server_url in its configuration; the bridge then offers that model to everyone.',
  modelGone: '{model} is no longer offered on the mesh (its device left or stopped it). Your next question goes to any model that is available.',
  providersAvailable: '{count} device(s) offer a language model.',
  serverTitle: 'Offer a model server from this device',
  serverIntro: 'If this device runs an OpenAI-compatible model server (such as Ollama or llama.cpp), enter its address and your neighbours can ask it too.',
  serverUrl: 'Server address',
  serverSave: 'Save',
  serverSaving: 'Checking…',
  serverStop: 'Stop offering',
  serverModels: 'Offering to the mesh:',
  serverNoModels: 'The server answered but lists no models.',
  serverNotOffering: 'This device offers no model server.',
  serverProblem: 'Problem: {problem}',
  serverUnavailable: 'This version of the node cannot offer a model server yet.',
  serverInvalidUrl: 'Enter an address starting with http:// or https://.',
  deviceTitle: 'Run a model in this browser',
  deviceIntro: 'This device runs the model itself and offers it to everyone in the community. Model files come from the bridge, so no internet is needed.',
  deviceGpuYes: 'Graphics card usable for models: {adapter}.',
  deviceGpuNo: 'No graphics card for models: {reason}. Small models run on the processor instead.',
  deviceMirror_available: 'The bridge keeps model files: loading needs no internet.',
  deviceMirror_none: 'The bridge keeps no model files (its models.dir setting); models would have to come from the internet.',
  deviceMirror_unreachable: 'The bridge could not be asked for model files just now.',
  deviceOnGpu: 'On the graphics card (WebLLM)',
  deviceOnCpu: 'On the processor (transformers.js)',
  deviceVram: '{mb} MB graphics memory',
  deviceSize: '{mb} MB download',
  deviceFromBridge: 'from the bridge',
  deviceFromInternet: 'from the internet',
  deviceRun: 'Run',
  deviceDownload: 'Download and run',
  deviceConfirm: 'Download {model} ({size}) from the internet? It is stored in this browser afterwards.',
  deviceCancel: 'Cancel',
  deviceUnload: 'Stop and free memory',
  deviceLoading: 'Loading the model',
  deviceReady: 'Running and offered to the mesh.',
  deviceNone: 'No model fits this device, and the bridge keeps none.',
  devicePhase_idle: '',
  devicePhase_loading: 'Loading the model…',
  devicePhase_ready: 'The model is running and offered to the mesh.',
  devicePhase_error: 'The model could not be loaded.'
};

export type Key = keyof typeof en;

const de: Record<Key, string> = {
  title: 'Fragen',
  intro: 'Frag ein Sprachmodell, das auf einem Gerät deiner Gemeinschaft läuft – diesem oder dem eines Nachbarn. Nichts verlässt das Netz.',
  conversation: 'Unterhaltung',
  newConversation: 'Neue Unterhaltung',
  model: 'Modell',
  anyModel: 'Beliebiges Modell',
  modelOfferedBy: '{model} ({nodes})',
  inputLabel: 'Deine Frage',
  inputPlaceholder: 'Frag etwas … (Enter sendet, Umschalt+Enter für neue Zeile)',
  inputHint: 'Enter sendet, Umschalt+Enter beginnt eine neue Zeile.',
  send: 'Senden',
  stop: 'Stopp',
  you: 'Du',
  assistant: 'Modell',
  thinking: 'Warte auf die ersten Worte …',
  streaming: 'Antwortet …',
  empty: 'Noch keine Nachrichten. Stell unten eine Frage.',
  answeredBySelf: 'beantwortet von {name} (dieses Gerät)',
  answeredBy: 'beantwortet von {name}',
  rate: '{rate} Tokens/s',
  tokens: '{count} Tokens',
  stoppedByYou: 'von dir gestoppt',
  stopReason_max_tokens: 'an der Längengrenze abgeschnitten',
  stopReason_stop_sequence: 'an einer Stoppsequenz beendet',
  stopReason_cancelled: 'vom antwortenden Gerät abgebrochen',
  stopReasonOther: 'beendet: {reason}',
  noAnswerText: '(kein Text)',
  error_not_found: 'Kein Gerät im Netz bietet gerade ein passendes Modell an.',
  error_timeout: 'Das antwortende Gerät hat zu lange gebraucht; die Anfrage ist abgelaufen.',
  error_not_implemented: 'Das Gerät hat dieses Modell nicht.',
  error_capacity_exceeded: 'Das Gerät ist mit anderen Fragen beschäftigt. Versuch es gleich noch einmal.',
  error_rate_limited: 'Zu viele Fragen in kurzer Zeit. Versuch es gleich noch einmal.',
  error_partition: 'Das antwortende Gerät ist nicht erreichbar.',
  errorPrefix: 'Die Frage konnte nicht beantwortet werden',
  noNode: 'Der Knoten läuft nicht in diesem Tab.',
  noProviderTitle: 'Kein Gerät im Netz bietet gerade ein Sprachmodell an',
  noProviderBody: 'Jede dieser Möglichkeiten gibt allen in der Gemeinschaft ein Modell zum Fragen:',
  fixDeviceModel: 'Ein Modell im Browser laufen lassen: ein Laptop mit Grafikkarte (WebGPU) schafft ein gutes, jedes Gerät ein kleines.',
  fixServer: 'Einen Modellserver (Ollama, llama.cpp, LM Studio) von dem Gerät anbieten, auf dem er läuft.',
  fixBridge: 'Die Person, die die Brücke betreibt, bitten, llm.server_url in deren Konfiguration zu setzen; dann bietet die Brücke dieses Modell allen an.',
  modelGone: '{model} wird im Netz nicht mehr angeboten (sein Gerät ist gegangen oder hat es beendet). Deine nächste Frage geht an ein verfügbares Modell.',
  providersAvailable: '{count} Gerät(e) bieten ein Sprachmodell an.',
  serverTitle: 'Modellserver von diesem Gerät anbieten',
  serverIntro: 'Läuft auf diesem Gerät ein OpenAI-kompatibler Modellserver (etwa Ollama oder llama.cpp), trag seine Adresse ein – dann können auch deine Nachbarn ihn fragen.',
  serverUrl: 'Serveradresse',
  serverSave: 'Speichern',
  serverSaving: 'Prüfe …',
  serverStop: 'Nicht mehr anbieten',
  serverModels: 'Im Netz angeboten:',
  serverNoModels: 'Der Server antwortet, nennt aber keine Modelle.',
  serverNotOffering: 'Dieses Gerät bietet keinen Modellserver an.',
  serverProblem: 'Problem: {problem}',
  serverUnavailable: 'Diese Version des Knotens kann noch keinen Modellserver anbieten.',
  serverInvalidUrl: 'Gib eine Adresse ein, die mit http:// oder https:// beginnt.',
  deviceTitle: 'Ein Modell in diesem Browser ausführen',
  deviceIntro: 'Dieses Gerät führt das Modell selbst aus und bietet es allen in der Gemeinschaft an. Die Modelldateien kommen von der Brücke, Internet ist nicht nötig.',
  deviceGpuYes: 'Grafikkarte für Modelle nutzbar: {adapter}.',
  deviceGpuNo: 'Keine Grafikkarte für Modelle: {reason}. Kleine Modelle laufen stattdessen auf dem Prozessor.',
  deviceMirror_available: 'Die Brücke hält Modelldateien bereit: Laden braucht kein Internet.',
  deviceMirror_none: 'Die Brücke hält keine Modelldateien bereit (Einstellung models.dir); Modelle müssten aus dem Internet kommen.',
  deviceMirror_unreachable: 'Die Brücke war gerade nicht nach Modelldateien zu fragen.',
  deviceOnGpu: 'Auf der Grafikkarte (WebLLM)',
  deviceOnCpu: 'Auf dem Prozessor (transformers.js)',
  deviceVram: '{mb} MB Grafikspeicher',
  deviceSize: '{mb} MB Download',
  deviceFromBridge: 'von der Brücke',
  deviceFromInternet: 'aus dem Internet',
  deviceRun: 'Ausführen',
  deviceDownload: 'Herunterladen und ausführen',
  deviceConfirm: '{model} ({size}) aus dem Internet herunterladen? Es wird danach in diesem Browser gespeichert.',
  deviceCancel: 'Abbrechen',
  deviceUnload: 'Beenden und Speicher freigeben',
  deviceLoading: 'Modell wird geladen',
  deviceReady: 'Läuft und wird dem Netz angeboten.',
  deviceNone: 'Kein Modell passt auf dieses Gerät, und die Brücke hält keines bereit.',
  devicePhase_idle: '',
  devicePhase_loading: 'Das Modell wird geladen …',
  devicePhase_ready: 'Das Modell läuft und wird dem Netz angeboten.',
  devicePhase_error: 'Das Modell konnte nicht geladen werden.'
};

const STRINGS: Record<Lang, Record<Key, string>> = { en, de };

/** German when the browser's first language is German, else English. */
export function pickLang(language: string | undefined): Lang {
  return language?.toLowerCase().startsWith('de') ? 'de' : 'en';
}

export const lang: Lang = pickLang(typeof navigator === 'undefined' ? undefined : navigator.language);

export function t(key: Key, vars: Record<string, string | number> = {}, language: Lang = lang): string {
  const text = STRINGS[language][key] ?? en[key];
  return text.replace(/\{(\w+)\}/g, (whole, name: string) => (name in vars ? String(vars[name]) : whole));
}

/** A translation for a key that may not exist (a wire error code, a stop reason), else null. */
export function tMaybe(key: string, vars: Record<string, string | number> = {}, language: Lang = lang): string | null {
  return key in en ? t(key as Key, vars, language) : null;
}

/** Numbers in the page's language ("12.5" / "12,5"). */
export function number(value: number, digits = 1, language: Lang = lang): string {
  return value.toLocaleString(language, { maximumFractionDigits: digits, minimumFractionDigits: 0 });
}
