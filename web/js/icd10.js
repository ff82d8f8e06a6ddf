// icd10.js — ICD-10 (МКБ-10) for the conclusion form: the code pattern the
// protocol accepts (a capital Latin letter, two digits, optionally a dot and
// one or two digits), a check for Cyrillic letters typed on a Russian
// keyboard layout, and a short built-in list of codes common in
// regional teleconsultations, with their titles in Russian (as in the Russian
// edition of МКБ-10) and English (WHO ICD-10), offered as suggestions only:
// any well-formed code may be entered.

export const ICD10_RE = /^[A-Z][0-9]{2}(\.[0-9]{1,2})?$/;

/** The code as typed, tidied: trimmed, upper case, a decimal comma made a dot. Cyrillic
 *  letters are not converted (К on a Russian layout is the R key: K07 is not R07); the form
 *  says to switch the keyboard layout instead. */
export function normaliseCode(value) {
  return String(value || '').trim().toUpperCase().replace(',', '.');
}

export const hasCyrillic = (s) => /[\u0400-\u04ff]/.test(s);

export const isIcd10 = (code) => ICD10_RE.test(code);

/** [code, Russian title, English title] */
export const COMMON_CODES = [
  ['I10', 'Эссенциальная [первичная] гипертензия', 'Essential (primary) hypertension'],
  ['I20.0', 'Нестабильная стенокардия', 'Unstable angina'],
  ['I20.9', 'Стенокардия неуточнённая', 'Angina pectoris, unspecified'],
  ['I21.0', 'Острый трансмуральный инфаркт передней стенки миокарда', 'Acute transmural myocardial infarction of anterior wall'],
  ['I21.1', 'Острый трансмуральный инфаркт нижней стенки миокарда', 'Acute transmural myocardial infarction of inferior wall'],
  ['I21.4', 'Острый субэндокардиальный инфаркт миокарда', 'Acute subendocardial myocardial infarction'],
  ['I21.9', 'Острый инфаркт миокарда неуточнённый', 'Acute myocardial infarction, unspecified'],
  ['I26.9', 'Лёгочная эмболия без упоминания об остром лёгочном сердце', 'Pulmonary embolism without mention of acute cor pulmonale'],
  ['I44.2', 'Предсердно-желудочковая блокада полная', 'Atrioventricular block, complete'],
  ['I47.1', 'Наджелудочковая тахикардия', 'Supraventricular tachycardia'],
  ['I47.2', 'Желудочковая тахикардия', 'Ventricular tachycardia'],
  ['I48', 'Фибрилляция и трепетание предсердий', 'Atrial fibrillation and flutter'],
  ['I50.0', 'Застойная сердечная недостаточность', 'Congestive heart failure'],
  ['I50.9', 'Сердечная недостаточность неуточнённая', 'Heart failure, unspecified'],
  ['I61.9', 'Внутримозговое кровоизлияние неуточнённое', 'Intracerebral haemorrhage, unspecified'],
  ['I63.9', 'Инфаркт мозга неуточнённый', 'Cerebral infarction, unspecified'],
  ['I64', 'Инсульт, не уточнённый как кровоизлияние или инфаркт', 'Stroke, not specified as haemorrhage or infarction'],
  ['G40.9', 'Эпилепсия неуточнённая', 'Epilepsy, unspecified'],
  ['G43.9', 'Мигрень неуточнённая', 'Migraine, unspecified'],
  ['G45.9', 'Транзиторная церебральная ишемическая атака неуточнённая', 'Transient cerebral ischaemic attack, unspecified'],
  ['J18.9', 'Пневмония неуточнённая', 'Pneumonia, unspecified'],
  ['J44.1', 'Хроническая обструктивная лёгочная болезнь с обострением неуточнённая', 'Chronic obstructive pulmonary disease with acute exacerbation, unspecified'],
  ['J45.9', 'Астма неуточнённая', 'Asthma, unspecified'],
  ['J96.0', 'Острая респираторная недостаточность', 'Acute respiratory failure'],
  ['E11.9', 'Инсулиннезависимый сахарный диабет без осложнений', 'Type 2 diabetes mellitus without complications'],
  ['K35.8', 'Острый аппендицит, другой и неуточнённый', 'Acute appendicitis, other and unspecified'],
  ['K85.9', 'Острый панкреатит неуточнённый', 'Acute pancreatitis, unspecified'],
  ['K92.2', 'Желудочно-кишечное кровотечение неуточнённое', 'Gastrointestinal haemorrhage, unspecified'],
  ['N39.0', 'Инфекция мочевыводящих путей без установленной локализации', 'Urinary tract infection, site not specified'],
  ['O14.1', 'Тяжёлая преэклампсия', 'Severe pre-eclampsia'],
  ['A41.9', 'Септицемия неуточнённая', 'Sepsis, unspecified'],
  ['S06.0', 'Сотрясение головного мозга', 'Concussion'],
  ['S52.5', 'Перелом нижнего конца лучевой кости', 'Fracture of lower end of radius'],
  ['S72.0', 'Перелом шейки бедра', 'Fracture of neck of femur'],
  ['T78.2', 'Анафилактический шок неуточнённый', 'Anaphylactic shock, unspecified'],
  ['R07.4', 'Боль в груди неуточнённая', 'Chest pain, unspecified'],
  ['R55', 'Обморок [синкопе] и коллапс', 'Syncope and collapse'],
  ['F32.2', 'Тяжёлый депрессивный эпизод без психотических симптомов', 'Severe depressive episode without psychotic symptoms'],
  ['C34.9', 'Злокачественное новообразование бронхов или лёгкого неуточнённой локализации', 'Malignant neoplasm of bronchus or lung, unspecified'],
];

/** The built-in title of a code in a language ('ru' | 'en'), or ''. */
export function codeTitle(code, lang) {
  const row = COMMON_CODES.find((r) => r[0] === code);
  return row ? row[lang === 'ru' ? 1 : 2] : '';
}
