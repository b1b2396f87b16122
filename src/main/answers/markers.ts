// The words by which reasoning states, denies and revises a conclusion, in the common
// languages of video-QA data: English, Chinese, French, Spanish, German, Portuguese (and
// a few Japanese/Korean forms). Rules read the language, never a dataset's phrasing.

/** Phrases after which the answer itself follows: "the answer is", "I'll go with", "答案是". */
export const ANSWER_HEAD = new RegExp(
  [
    String.raw`\b(?:(?:the|my|our)\s+)?(?:final\s+|correct\s+|right\s+|best\s+|most\s+likely\s+|only\s+)?(?:answer|option|choice)\s*(?:here\s+|then\s+|therefore\s+|thus\s+)?(?:is|should\s+be|must\s+be|would\s+be|will\s+be|has\s+to\s+be|seems\s+to\s+be|appears\s+to\s+be|=|:|→|->)\s*(?:probably\s+|likely\s+|clearly\s+|definitely\s+|indeed\s+)?`,
    String.raw`\bi(?:['’]ll|\s+will|\s+would|['’]d)?\s+(?:go\s+with|choose|pick|select|answer(?:\s+with)?|settle\s+on|opt\s+for)\s+`,
    String.raw`\b(?:that|this|which|it)\s*(?:is|['’]s|must\s+be|would\s+be|should\s+be|matches|corresponds\s+to|points\s+to|gives(?:\s+us)?)\s+(?=(?:option|choice|answer)\b|\(?[A-Z]\)?(?:[.,;!?)]|\s*$))`,
    String.raw`\b(?:which|that)\s+(?:is|matches)\s+(?=(?:option|choice)\b)`,
    String.raw`(?:最终|正确|最后的?)?(?:答案|选项|選項|答)\s*(?:应该|應該|应|應)?\s*(?:是|为|為|选|選|：|:)\s*`,
    String.raw`(?:应选|應選|故选|故選|我选|我選|选择|選擇)\s*`,
    String.raw`\b(?:la\s+)?(?:bonne\s+|meilleure\s+)?r[ée]ponse\s+(?:correcte\s+|finale\s+)?(?:est|serait|sera)\s*:?\s*|\bje\s+(?:choisis|choisirais|r[ée]ponds)\s+`,
    String.raw`\b(?:la\s+)?respuesta\s+(?:correcta\s+|final\s+)?(?:es|ser[íi]a|ser[áa])\s*:?\s*|\b(?:elijo|escojo|elegir[ée])\s+`,
    String.raw`\b(?:die\s+)?(?:richtige\s+|korrekte\s+)?antwort\s+(?:ist|lautet|w[äa]re)\s*:?\s*|\bich\s+w[äa]hle\s+`,
    String.raw`\b(?:a\s+)?resposta\s+(?:correta\s+|final\s+)?(?:[ée]|seria|ser[áa])\s*:?\s*|\b(?:escolho|escolheria)\s+`,
    String.raw`(?:答えは|正解は|정답은|답은)\s*`,
    // OCR: what the text in the video says
    String.raw`\b(?:the\s+)?(?:text|sign|label|caption|writing|inscription|plate)\s+(?:reads|says|spells)\s*:?\s*|\b(?:the\s+)?(?:text|writing|inscription)\s+(?:is|shows)\s*:?\s*|\b(?:reads|says)\s*:?\s*(?=["“'‘])`,
  ].join('|'),
  'giu',
);

/** "option B is correct", "(C) est la bonne réponse": the answer stated before its verdict. */
export const ANSWER_BEFORE_VERDICT =
  /(?:\b(?:option|choice|l['’]option|la\s+opci[óo]n|die\s+option|a\s+op[çc][ãa]o)\s+|(?<![\p{Script=Latin}\p{N}])(?=\(?[A-Z]\)?\s))(\(?[A-Z]\)?)\s+(?:is|seems|must\s+be|looks|est|es|ist|[ée])\s+(?:(?:the\s+)?(?:correct|right|best)(?:\s+(?:one|answer))?|the\s+answer|la\s+bonne|correcta|richtig|correta)\b/giu;

/** Sentence markers of a conclusion: "so", "therefore", "所以", "donc", "por lo tanto", "daher", "portanto". */
export const CONCLUSION_MARKER = new RegExp(
  [
    String.raw`\b(?:so|therefore|thus|hence|consequently|in\s+conclusion|to\s+conclude|overall|in\s+total|altogether|in\s+all|finally|in\s+summary|to\s+sum\s+up|that\s+means|this\s+means|which\s+means|as\s+a\s+result|this\s+gives|that\s+gives|we\s+get|i\s+conclude)\b`,
    String.raw`所以|因此|因而|综上|綜上|总之|總之|于是|於是|最终|最終|一共|总共|總共|故`,
    String.raw`\b(?:donc|ainsi|par\s+cons[ée]quent|en\s+conclusion|au\s+total|finalement|c['’]est)\b`,
    String.raw`\b(?:por\s+lo\s+tanto|entonces|as[íi]\s+que|por\s+consiguiente|en\s+conclusi[óo]n|en\s+total|finalmente|es\s+decir)\b`,
    String.raw`\b(?:daher|deshalb|somit|folglich|insgesamt|schlie[ßs]lich|also\s+(?:ist|sind|war|gibt|die|der|das))\b|^\s*also\b`,
    String.raw`\b(?:portanto|ent[ãa]o|assim|em\s+conclus[ãa]o|no\s+total|por\s+isso|logo,)`,
    String.raw`したがって|よって|따라서`,
  ].join('|'),
  'iu',
);

/** Words by which a chain notices and revises its own error; a conclusion after one supersedes those before. */
export const REFLECTION_MARKERS = [
  'wait',
  'hmm',
  'hold on',
  'actually',
  'let me re-check',
  'let me recheck',
  'let me double-check',
  'let me double check',
  'let me verify',
  'let me reconsider',
  'let me look again',
  'looking again',
  'on second thought',
  'i was wrong',
  'i made a mistake',
  'my mistake',
  'that was wrong',
  "that's not right",
  'that is not right',
  'correction',
  're-examine',
  'reconsider',
  '等等',
  '等一下',
  '不对',
  '我错了',
  '重新检查',
  '再看',
  '再检查',
  'attends',
  'en fait',
  'je me suis trompé',
  'je me trompe',
  'espera',
  'en realidad',
  'me equivoqué',
  'déjame revisar',
  'warte',
  'eigentlich',
  'ich habe mich geirrt',
  'moment mal',
  'espere',
  'na verdade',
  'me enganei',
  'errei',
];

/** Words right before a letter or number that deny it: "not A", "rather than B", "排除C". */
export const DENIED_BEFORE =
  /(?:\bnot|n['’]t|\brather\s+than|\binstead\s+of|\bexcept|\bexclud\w*|\beliminat\w*|\brul(?:e|ed|ing)\s+out|\bunlike|\bnor|\bneither|\bno\s+longer|\bpas|\bno\s+es|\bnicht|\bkein\w*|\bn[ãa]o|\bni|不是|排除|而不是|而非|并非|並非|不选|不選|不应该是|不會是|不会是)(?:\s+(?:be|been|is|was|the|an?|answer|option|choice|l['’]option|la\s+opci[óo]n|op[çc][ãa]o|die|la|a|o|é|es|ist|est))*\s*[("'“]?\s*$/iu;

/** Words right after a letter or number that deny it: "A is wrong", "B and C are ruled out", "A 不对". */
export const DENIED_AFTER =
  /^(?:\)?\s*(?:,|and|or|&|y|et|und|e|和|或)\s*\(?[A-Z]\)?)*[)"'”]?\s*(?:(?:is|are|was|were|seems?|looks?|would\s+be|must\s+be|can\s+be|could\s+be|should\s+be|sounds)\s+)?(?:also\s+|clearly\s+|definitely\s+|therefore\s+|thus\s+|obviously\s+)?(?:not\b|n['’]t|wrong|incorrect|unlikely|impossible|false|ruled\s+out|eliminated|excluded|invalid|inconsistent|doesn['’]t|does\s+not|can['’]t|cannot|out\b|(?:est|es|ist|[ée])\s+(?:faux|fausse|incorrecte?|falsch|incorrecta|errad[ao]|incorret[ao]|exclu)|不对|不對|错|錯|不正确|不正確|排除)/iu;
